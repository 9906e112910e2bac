"""Settings come from the environment exactly as the README's table says."""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
KEYS = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests set it while chromium runs
)

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "broker": settings.CELERY_BROKER_URL,
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""


def run(code_or_args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in KEYS}
    clean.update(env, DJANGO_SETTINGS_MODULE="valuelab.settings")
    return subprocess.run(
        [sys.executable, *code_or_args],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_with(**env: str) -> dict:
    result = run(["-c", PRINT_SETTINGS], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_nothing_set_it_needs_no_service():
    values = settings_with()

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db_name"].endswith("db.sqlite3")
    assert values["broker"] == "filesystem://"
    assert values["debug"] is True


def test_database_and_broker_urls_switch_to_postgresql_and_redis():
    values = settings_with(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/valuelab",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
    )

    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "valuelab"
    assert values["broker"] == "redis://127.0.0.1:6379/3"


def test_production_settings_pass_check_deploy_without_warnings():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY="k8Jx0vQ-3pZr7mT2wYb9LcN5hF1sD4gA6eU0iO8yR3tV7nM2qW5zX9",
        ALLOWED_HOSTS="valuelab.example.org",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_a_secret_key_refuses_to_start():
    result = run(["manage.py", "check"], DEBUG="0", ALLOWED_HOSTS="valuelab.example.org")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr
