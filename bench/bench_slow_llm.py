"""A slow LLM never slows the site: many interview turns in flight while other pages stay fast.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_<name> \\
        nice -n 10 .venv/bin/python bench/bench_slow_llm.py [--turns 200] [--latency 10] \\
        [--server asgi|wsgi] [--workers 2]

Serves the project as the README's production recipe does (``--server asgi``: gunicorn with
uvicorn workers; ``wsgi``: the old gunicorn threads, for comparison) on a loopback port, with the
LLM being the loopback double (``tests/llm_double.py``) answering each request after
``--latency`` seconds. It sends ``--turns`` interview turns at once (each a different participant
posting to the chat's stream and reading its events to the end), and meanwhile probes
``/healthz`` and the labelling API (``GET /api/annotation/projects/<id>/next/``, token auth)
about 5 times a second each. Prints each probe's latency (n, p50, p95, max) and the turns'
outcomes and durations. Target (issue 12): probes' p95 < 100 ms with 200 turns in flight.

Writes to the database named by DATABASE_URL (PostgreSQL: SQLite cannot take the concurrent
writes); it adds bench users, a scenario and a project each run.
"""

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


async def http(port: int, method: str, path: str, *, headers: dict, body: bytes = b"") -> tuple:
    """Send one HTTP/1.1 request (Connection: close); return (status, body, first-byte time)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    first_byte = time.monotonic() - started
    rest = await reader.read()
    writer.close()
    status = int(status_line.split()[1]) if status_line else 0
    return status, rest, first_byte


def setup_data(turns: int) -> dict:
    """Create the participants (each with a chat and a session), a scenario and a project."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from annotation.models import Item, Project, ValueScheme
    from core.models import User
    from elicitation.models import Deliberation, Scenario
    from elicitation.services.interviews import chat_start

    run = secrets.token_hex(4)
    deliberation = Deliberation.objects.create(name=f"bench-{run}", title="Bench")
    scenario = Scenario.objects.create(
        deliberation=deliberation, question="My friend keeps cancelling plans. What should I do?"
    )
    sessions = []
    for n in range(turns):
        user = User.objects.create_user(username=f"bench-{run}-{n}", role=User.Role.PARTICIPANT)
        chat = chat_start(participant=user, scenario=scenario)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions.append((session.session_key, chat.pk))
    labeller = User.objects.create_user(username=f"bench-{run}-labeller", role="participant")
    scheme = ValueScheme.objects.get(key="schwartz10")
    project = Project.objects.create(name=f"Bench {run}", slug=f"bench-{run}", scheme=scheme)
    Item.objects.bulk_create(
        Item(project=project, external_id=f"i{n}", prompt=f"Question {n}?", response="An answer.")
        for n in range(50)
    )
    token = Token.objects.create(user=labeller).key
    return {"sessions": sessions, "project": project.pk, "token": token}


async def probe(port: int, path: str, headers: dict, stop: asyncio.Event, out: list) -> None:
    while not stop.is_set():
        started = time.monotonic()
        status, _, _ = await http(port, "GET", path, headers=headers)
        out.append((time.monotonic() - started, status, started))
        await asyncio.sleep(0.2)


async def turn(port: int, session_key: str, chat_id: int, text: str) -> dict:
    csrf = secrets.token_hex(16)
    body = urlencode({"text": text, "client_id": secrets.token_hex(8)}).encode()
    headers = {
        "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    started = time.monotonic()
    status, rest, first_byte = await http(
        port, "POST", f"/elicitation/chats/{chat_id}/stream/", headers=headers, body=body
    )
    return {
        "status": status,
        "first_byte": first_byte,
        "seconds": time.monotonic() - started,
        "reply": b"event: reply" in rest,
        "error": b"event: error" in rest,
        "head": rest[:200],
    }


def spread(values: list[float]) -> str:
    if not values:
        return "n=0"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (
        f"n={len(ordered):4d}  p50 {statistics.median(ordered) * 1000:7.1f} ms  "
        f"p95 {p95 * 1000:7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    )


async def drive(port: int, data: dict, probe_headers: dict) -> None:
    stop = asyncio.Event()
    health: list = []
    labelling: list = []
    probes = [
        asyncio.create_task(probe(port, "/healthz", {}, stop, health)),
        asyncio.create_task(
            probe(
                port,
                f"/api/annotation/projects/{data['project']}/next/",
                probe_headers,
                stop,
                labelling,
            )
        ),
    ]
    await asyncio.sleep(2)  # probes alone first
    baseline = (len(health), len(labelling))
    started = time.monotonic()
    # Each turn's first byte: its message is stored and its stream open, waiting for the LLM.
    results = await asyncio.gather(
        *(
            turn(port, key, chat, "A good answer helps me say honestly how I feel to my friend.")
            for key, chat in data["sessions"]
        )
    )
    wall = time.monotonic() - started
    stop.set()
    await asyncio.gather(*probes)
    loaded_health = [s for s, _, _ in health[baseline[0] :]]
    loaded_labelling = [s for s, _, _ in labelling[baseline[1] :]]
    # From the moment every turn's stream was open until the first reply came: all of them
    # in flight at once, waiting for the LLM (the burst of posts before that is its own load).
    all_open = started + max(r["first_byte"] for r in results)
    first_done = started + min(r["seconds"] for r in results)
    window = [(s, at) for s, _, at in health + labelling if all_open <= at <= first_done]
    window_health = [s for s, _, at in health if all_open <= at <= first_done]
    window_labelling = [s for s, _, at in labelling if all_open <= at <= first_done]
    print(f"\n{len(results)} turns sent at once; all finished after {wall:.1f} s")
    replies = sum(r["reply"] for r in results)
    errors = sum(r["error"] for r in results)
    statuses = sorted({r["status"] for r in results})
    print(f"  replies {replies}, error events {errors}, HTTP statuses {statuses}")
    if statuses != [200]:
        print("  first answer:", results[0]["head"])
    print("  turn, first byte (message stored, stream open):")
    print("    " + spread([r["first_byte"] for r in results]))
    print("  turn, whole reply:")
    print("    " + spread([r["seconds"] for r in results]))
    print("while the turns were in flight:")
    print(f"  /healthz                  {spread(loaded_health)}")
    print(f"  labelling API (next item) {spread(loaded_labelling)}")
    if window:
        print(
            f"with all {len(results)} turns open and waiting for the LLM "
            f"({first_done - all_open:.1f} s window):"
        )
        print(f"  /healthz                  {spread(window_health)}")
        print(f"  labelling API (next item) {spread(window_labelling)}")
    else:
        print("(no moment when every turn was open and none answered yet)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    bad = sorted({s for _, s, _ in health + labelling if s != 200})
    if bad:
        print(f"  probe statuses other than 200: {bad}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--latency", type=float, default=10.0)
    parser.add_argument("--server", choices=["asgi", "wsgi"], default="asgi")
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the doc).")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
    var = Path(tempfile.mkdtemp(prefix="valuelab-bench-slow-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CELERY_", "OPENAI_", "VALUELAB_"))
    }
    double_port, port = _free_port(), _free_port()
    env.update(
        DEBUG="0",
        SECRET_KEY="bench-" + "k" * 50,
        ALLOWED_HOSTS=HOST,
        SECURE_SSL_REDIRECT="0",
        VALUELAB_VAR_DIR=str(var),
        OPENAI_BASE_URL=f"http://{HOST}:{double_port}/v1",
        OPENAI_API_KEY="bench",
        VALUELAB_LLM_TIMEOUT="60",
        # The double has no slots to bound: let every turn that runs reach it.
        VALUELAB_LLM_CONCURRENCY=str(options.turns),
        VALUELAB_LLM_BUDGET="1000",
    )
    os.environ.update(env)  # the same settings here (sessions are signed with SECRET_KEY)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env
    )
    data = setup_data(options.turns)
    logs = var / "server.log"
    double = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_double", "--port", str(double_port)]
        + ["--latency", str(options.latency)],
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if options.server == "asgi":
        command = ["valuelab.asgi:application", "-k", "uvicorn_worker.UvicornWorker"]
        command += ["--workers", str(options.workers)]
    else:
        command = ["valuelab.wsgi", "--workers", str(options.workers), "--threads", "8"]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with logs.open("w") as out:
        server = subprocess.Popen(
            [str(gunicorn), *command, "--bind", f"{HOST}:{port}", "--timeout", "120"]
            + ["--backlog", "2048"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _, _ = asyncio.run(http(port, "GET", "/healthz", headers={}))
                if status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        print(
            f"server: {options.server}, {options.workers} workers; LLM double: "
            f"{options.latency:g} s per request; turns per worker: "
            f"{os.environ.get('VALUELAB_TURNS_PER_WORKER', '32 (default)')}"
        )
        asyncio.run(drive(port, data, {"Authorization": f"Token {data['token']}"}))
    finally:
        server.terminate()
        double.terminate()
        server.wait(timeout=30)
        double.wait(timeout=10)
        errors = [line for line in logs.read_text().splitlines() if "Error" in line]
        if errors:
            print("server log errors (first 5):", *errors[:5], sep="\n  ")


if __name__ == "__main__":
    main()
