"""The README's production recipe, run as written: DEBUG=0, collectstatic, gunicorn, then pages.

A fresh SQLite database and static folder in a temporary directory; gunicorn on a free loopback
port behind the (simulated) TLS proxy the README asks for (`X-Forwarded-Proto: https`).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
HOST = "127.0.0.1"
CHART_JS = "vendor/chartjs/chart-4.6.1.umd.min.js"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (loopback)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def production(tmp_path):
    """Run check --deploy, migrate, collectstatic and gunicorn as the README says; yield the URL."""
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed next to this Python")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "DATABASE_"))
    }
    env.update(
        DEBUG="0",
        SECRET_KEY="production-recipe-test-" + "k" * 40,
        ALLOWED_HOSTS=HOST,
        CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        SECURE_PROXY_SSL_HEADER="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VALUELAB_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="valuelab.settings",
    )
    manage = [sys.executable, "manage.py"]
    for command in (["check", "--deploy", "--fail-level", "WARNING"], ["migrate", "--noinput"]):
        done = subprocess.run(
            manage + command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
    collected = subprocess.run(
        [*manage, "collectstatic", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr[-3000:]
    assert (tmp_path / "var" / "staticfiles" / "staticfiles.json").exists()

    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(GUNICORN), "valuelab.wsgi", "--bind", f"{HOST}:{port}", "--workers", "1"]
            + ["--threads", "2", "--timeout", "120"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _get(url + "/healthz")
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        print(log.read_text()[-5000:])


def test_the_production_recipe_serves_pages_and_hashed_static_files(production, tmp_path):
    status, _, login = _get(production + "/login/")
    assert status == 200, login[:2000]
    assert b"<form" in login

    stylesheets = re.findall(rb'href="(/static/css/valuelab\.[0-9a-f]{12}\.css)"', login)
    assert stylesheets, "the login page links no hashed stylesheet"
    status, headers, css = _get(production + stylesheets[0].decode())
    assert status == 200 and css.strip()
    assert "immutable" in headers.get("Cache-Control", ""), headers

    status, _, missing = _get(production + "/no/such/page/")
    assert status == 404
    assert b"not found" in missing.lower()
    assert b"Traceback" not in missing

    # The vendored Chart.js (its source map comment removed) keeps its licence header.
    manifest = json.loads((tmp_path / "var" / "staticfiles" / "staticfiles.json").read_text())
    status, _, script = _get(f"{production}/static/{manifest['paths'][CHART_JS]}")
    assert status == 200
    assert script.startswith(b"/*!\n * Chart.js v4.6.1")
    assert b"Released under the MIT License" in script
