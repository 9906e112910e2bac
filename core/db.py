"""Hand-written statements on the few paths that run on every request of a busy crowd.

``fetch_one`` runs one statement on Django's connection and returns its first row. On
PostgreSQL it runs it prepared: psycopg parses and plans the statement once per connection and
reuses the plan, where Django's own queries (client-side binding, prepared statements off so
connection poolers work) are planned on every call. For the annotate loop's claim the plan cost
more than the work. The statement still goes through Django's error wrapping (``IntegrityError``
is Django's), its transaction state and, under ``DEBUG`` or a test's query capture, its query log.

Behind a transaction-mode connection pooler (PgBouncer without ``max_prepared_statements``)
set ``DATABASE_PREPARED_STATEMENTS=0``.
"""

import os
import time

from django.db import connection

PREPARED = os.environ.get("DATABASE_PREPARED_STATEMENTS", "1") != "0"


def fetch_one(sql: str, params: list) -> tuple | None:
    """Run ``sql`` with ``params`` (``%s`` placeholders) and return its first row, or None."""
    if connection.vendor != "postgresql" or not PREPARED:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg

    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors:
        # A server-side binding cursor: Django's connection hands out client-side ones.
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            row = cursor.fetchone()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {params!r}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return row


def release_connection() -> None:
    """Give this thread's database connection back before a long wait (an LLM call, a turn slot).

    Only where connections are per request (``CONN_MAX_AGE=0``: the ASGI server, with or without
    its pool): Django opens one again at the next query, from the pool where there is one. A
    persistent connection (``CONN_MAX_AGE`` above 0, or None: unlimited; a Celery thread, the
    development server) is kept, since closing it would only cost a reconnection; so is one inside
    a transaction (``atomic``, a test), whose work closing it would lose.
    """
    if connection.in_atomic_block or connection.settings_dict.get("CONN_MAX_AGE", 0) != 0:
        return
    connection.close()
