"""Under ASGI on PostgreSQL the database connections come from a pool per worker process
(``DATABASE_POOL``, on by default in valuelab/asgi.py): a request, or an LLM call that gave its
connection back, borrows one that is already open instead of opening a new one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]

SCRIPT = """
import valuelab.asgi  # the ASGI application's settings, as gunicorn's uvicorn workers load them
from django.conf import settings
from django.db import connection
pids = []
for _ in range(12):  # twelve requests one after another, each closing its connection at the end
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pids.append(cursor.fetchone()[0])
    connection.close()
print(settings.DATABASES["default"]["CONN_MAX_AGE"], len(set(pids)))
"""


@pytest.mark.django_db
def test_asgi_requests_borrow_pooled_postgresql_connections():
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's (CI runs PostgreSQL)")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if k not in ("CONN_MAX_AGE", "DATABASE_POOL")}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="valuelab.settings")
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr[-3000:]
    conn_max_age, backends = done.stdout.split()
    assert conn_max_age == "0"
    assert int(backends) <= 3  # not twelve: the pool's few open connections, reused
