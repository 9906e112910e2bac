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


SETTINGS = """
{imports}
from django.conf import settings
db = settings.DATABASES["default"]
print(db["CONN_MAX_AGE"], db.get("OPTIONS", {{}}).get("pool", {{}}).get("max_size"))
"""


def _settings_of(imports: str, **env_vars) -> list[str]:
    """Return CONN_MAX_AGE and the pool's size as a process loading ``imports`` sees them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CONN_MAX_AGE", "DATABASE_POOL", "DATABASE_POOL_SIZE", "VALUELAB_SERVER")
    }
    env.update(
        DATABASE_URL="postgres://valuelab@127.0.0.1:5432/valuelab",  # not connected to
        DJANGO_SETTINGS_MODULE="valuelab.settings",
        **env_vars,
    )
    code = SETTINGS.format(imports=imports)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_the_web_workers_pool_is_sized_for_requests_not_for_every_turn():
    # 16 a worker: 3 workers (the README's recipe) open at most 48, below PostgreSQL's 100.
    assert _settings_of("import valuelab.asgi") == ["0", "16"]
    assert _settings_of("import valuelab.asgi", DATABASE_POOL_SIZE="8") == ["0", "8"]
    assert _settings_of("import valuelab.asgi", DATABASE_POOL="0") == ["0", "None"]


def test_celery_keeps_persistent_connections_even_with_database_pool_set():
    # A Celery worker loads valuelab.celery, never valuelab.asgi.
    seen = _settings_of("import valuelab.celery", DATABASE_POOL="1", CONN_MAX_AGE="60")
    assert seen == ["60", "None"]


def test_deploy_check_warns_when_the_pools_outgrow_max_connections(settings, monkeypatch):
    from core.checks import check_database_pool_size

    engine = "django.db.backends.postgresql"
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", engine)
    settings.VALUELAB_WEB_WORKERS, settings.DATABASE_POOL_SIZE = 3, 16
    settings.DATABASE_MAX_CONNECTIONS = 100
    assert check_database_pool_size(None) == []

    settings.VALUELAB_WEB_WORKERS = 7  # 112 connections
    (warning,) = check_database_pool_size(None)
    assert warning.id == "core.W004"
    assert "112" in warning.msg and "100" in warning.msg
