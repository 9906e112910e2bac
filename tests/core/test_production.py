"""The README's production recipe, run as written: DEBUG=0, collectstatic, gunicorn with uvicorn
workers (ASGI), then pages, and interview turns streaming while the site answers.

A fresh SQLite database and static folder in a temporary directory; gunicorn on a free loopback
port behind the (simulated) TLS proxy the README asks for (`X-Forwarded-Proto: https`); the LLM
is the loopback double.
"""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.llm_double import OpenAIDouble

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


class ServerUrl(str):
    """The server's base URL, with the environment it runs in (``env``)."""

    env: dict


@pytest.fixture
def double():
    with OpenAIDouble() as double:
        yield double


@pytest.fixture
def production(tmp_path, double, request):
    """Run check --deploy, migrate, collectstatic and gunicorn as the README says; yield the URL.

    Parametrized indirectly, the parameter is more environment for the server."""
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
        OPENAI_BASE_URL=double.url,
        OPENAI_API_KEY="test-key",
    )
    env.update(getattr(request, "param", {}))
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
        # As the README says (one worker here).
        server = subprocess.Popen(
            [str(GUNICORN), "valuelab.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
            + ["--bind", f"{HOST}:{port}", "--workers", "1", "--timeout", "120"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = ServerUrl(f"http://{HOST}:{port}")
    url.env = env
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
    status, headers, login = _get(production + "/login/")
    assert status == 200, login[:2000]
    assert b"<form" in login
    policy = headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, headers
    assert "frame-ancestors 'none'" in policy

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


PARTICIPANTS = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from core.models import User
from elicitation.models import Deliberation, Scenario
from elicitation.services.interviews import chat_start
scenario = Scenario.objects.create(
    deliberation=Deliberation.objects.create(name="prod", title="Prod"), question="What now?"
)
for n in range(3):
    user = User.objects.create_user(username=f"p{n}", role=User.Role.PARTICIPANT)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    print(session.session_key, chat_start(participant=user, scenario=scenario).pk)
"""


def _turn(url: str, session_key: str, chat_id: int, out: dict) -> None:
    """Post a participant's message to the chat's stream; note when it opens and what came."""
    token = "c" * 32
    request = urllib.request.Request(
        f"{url}/elicitation/chats/{chat_id}/stream/",
        data=b"text=Honesty+matters+to+me.",
        headers={
            "X-Forwarded-Proto": "https",
            "Referer": f"https://{HOST}/",
            "Cookie": f"sessionid={session_key}; csrftoken={token}",
            "X-CSRFToken": token,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
        out["status"] = response.status
        out["first"] = response.read1()  # the stream is open: the message is stored
        out["opened"] = time.monotonic()
        out["rest"] = response.read()
    out["ended"] = time.monotonic()


def _participants(production) -> list[tuple[str, str]]:
    """Make three participants with a chat each; return their session keys and chat ids."""
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PARTICIPANTS],
        cwd=BASE_DIR,
        env=production.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    participants = re.findall(r"^(\w+) (\d+)$", made.stdout, flags=re.MULTILINE)
    assert len(participants) == 3, made.stdout
    return participants


def test_turns_waiting_for_a_slow_llm_leave_the_site_answering(production, double):
    participants = _participants(production)
    double.latency = 4  # each reply comes 4 s after its request
    turns = [{} for _ in participants]
    threads = [
        threading.Thread(target=_turn, args=(production, key, int(chat), out))
        for (key, chat), out in zip(participants, turns, strict=True)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(double.chat_requests) < len(turns) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(double.chat_requests) == len(turns)  # every turn is waiting for the LLM

    # One worker, three turns waiting: the site still answers (the old one-worker, two-thread
    # server waited here until a turn ended).
    status, _, body = _get(production + "/healthz")
    answered = time.monotonic()
    for thread in threads:
        thread.join(timeout=60)

    assert status == 200 and json.loads(body)["status"] == "ok"
    assert all(turn["ended"] > answered for turn in turns)
    for turn in turns:
        assert turn["status"] == 200
        assert "event: reply" in turn["rest"].decode()
        assert "event: end" in turn["rest"].decode()


def _api_post(url: str, session_key: str, path: str, body: dict | None, out: dict) -> None:
    """POST JSON to the API as a signed-in participant; note the status, the answer and when."""
    token = "c" * 32
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body or {}).encode(),
        headers={
            "X-Forwarded-Proto": "https",
            "Referer": f"https://{HOST}/",
            "Cookie": f"sessionid={session_key}; csrftoken={token}",
            "X-CSRFToken": token,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            out["status"], out["body"] = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        out["status"], out["body"] = error.code, error.read()
    out["ended"] = time.monotonic()


@pytest.mark.parametrize("production", [{"VALUELAB_TURNS_PER_WORKER": "1"}], indirect=True)
def test_api_turns_and_card_writes_wait_for_a_turn_slot_while_the_site_answers(production, double):
    (first, chat1), (second, chat2), (third, chat3) = _participants(production)
    said: dict = {}
    _api_post(production, third, f"/api/elicitation/chats/{chat3}/messages/", {"text": "Hi"}, said)
    assert said["status"] == 200, said  # the third has told the interviewer something
    active, peak, lock = [0], [0], threading.Lock()
    real_wait = double._wait

    def counting_wait(seconds):  # the LLM thinking, one request
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            real_wait(seconds)
        finally:
            with lock:
                active[0] -= 1

    double._wait = counting_wait
    double.latency = 1.5
    calls = [
        (first, f"/api/elicitation/chats/{chat1}/messages/", {"text": "Honesty matters to me."}),
        (second, f"/api/elicitation/chats/{chat2}/messages/", {"text": "Fairness matters."}),
        (third, f"/api/elicitation/chats/{chat3}/card/write/", None),
    ]
    outs = [{} for _ in calls]
    threads = [
        threading.Thread(target=_api_post, args=(production, key, path, body, out))
        for (key, path, body), out in zip(calls, outs, strict=True)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # all three are in: one asks the LLM, two wait for the worker's one turn slot
    status, _, body = _get(production + "/healthz")
    answered = time.monotonic()
    for thread in threads:
        thread.join(timeout=60)

    assert status == 200 and json.loads(body)["status"] == "ok"
    assert answered < min(out["ended"] for out in outs)  # not after the first LLM answer
    assert peak[0] == 1  # one turn slot: the LLM was asked one turn at a time
    assert [out["status"] for out in outs] == [200, 200, 200], outs
    assert set(outs[0]["body"]) == {"reply", "card", "state", "notice"}
    assert outs[0]["body"]["reply"] and outs[1]["body"]["reply"]
    assert outs[2]["body"]["title"]  # the card, written by the LLM
    assert max(out["ended"] for out in outs) - started >= 3 * 1.5
