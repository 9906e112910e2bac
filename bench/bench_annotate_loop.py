"""The annotate loop over HTTP: simulated crowdworkers fetch the next item and submit labels.

    python bench/bench_annotate_loop.py [--items 100000] [--overlap 3] [--workers 5,20,50]
                                        [--seconds 20] [--drain-items 600] [--server gunicorn]

With no DATABASE_URL it uses a throwaway SQLite file (WAL, IMMEDIATE transactions, as deployed);
with one (e.g. ``postgres://postgres@127.0.0.1:5432/vl_bench``) that database, which it
migrates and fills. It starts a real server (gunicorn with threads, or ``runserver`` when
gunicorn is missing or asked for), then:

1. **Throughput**: for each number of workers, that many client threads (one token each, one
   keep-alive connection each) run GET next → POST labels for ``--seconds`` on a project of
   ``--items`` items with overlap k. Prints annotations/s and p50/p95 latency of next and submit.
2. **Drain**: a smaller project (``--drain-items``) is labelled to the end by the largest number
   of workers; each worker's 204 ("done") is checked against the database at that moment (no
   open slot left on an item they have not labelled).
3. **Invariants** on both projects: no item over k, no worker twice on an item, total
   annotations = items x k on the drained project, no premature done, no 5xx.
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")

DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "valuelab-bench-annotate.sqlite3"
BIG_PROJECT = "bench-annotate"
DRAIN_PROJECT = "bench-annotate-drain"
SEED_BATCH = 5000
PORT = 8791


def server_env() -> dict:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        # Simulated workers answer far faster than people: the per-user rate limits are off.
        "VALUELAB_THROTTLE_API": "",
        "VALUELAB_THROTTLE_API_WRITE": "",
    }


def seed_project(slug: str, items: int, overlap: int) -> int:
    """Create the project with ``items`` items (pre-labelled) and their slots; return its id."""
    from django.db import transaction

    from annotation.assignment import slots_ensure
    from annotation.models import Item, Prelabel, Project
    from annotation.services import project_create
    from core.models import ValueScheme

    Project.objects.filter(slug=slug).delete()
    scheme = ValueScheme.objects.get(key="schwartz10")
    keys = scheme.dimension_keys()
    project = project_create(
        name=slug, slug=slug, scheme=scheme, created_by=None, overlap=overlap, prelabel=True
    )
    # Quality checks on, but no simulated worker is ever stopped: the bench measures the loop.
    # Simulated workers answer at once, where people take 5-30 s: with the too-fast check on,
    # every annotation would raise a flag no real crowd raises at that rate.
    project.min_seconds = 0
    project.lease_seconds = 120
    project.flags_stop = 0
    project.flags_warn = 0
    project.gold_rate = 0
    project.save()
    rng = random.Random(11)
    text = "A response of moderate length, about as long as a short paragraph. " * 4
    for start in range(0, items, SEED_BATCH):
        with transaction.atomic():
            batch = Item.objects.bulk_create(
                Item(
                    project=project,
                    external_id=f"{slug}-{n}",
                    prompt=f"Question {n}: what should I do about this?",
                    response=text,
                    source=rng.choice(["model-a", "model-b"]),
                )
                for n in range(start, min(items, start + SEED_BATCH))
            )
            Prelabel.objects.bulk_create(
                Prelabel(
                    item=item,
                    labels={key: rng.choice((-1, 0, 0, 0, 1)) for key in keys},
                    rationales={key: "Because." for key in keys},
                    model="bench",
                    prompt_version="bench",
                )
                for item in batch
            )
        print(f"\r{slug}: seeded {min(items, start + SEED_BATCH):,} items", end="", file=sys.stderr)
    print(file=sys.stderr)
    started = time.perf_counter()
    slots = slots_ensure(project=project)
    print(f"{slug}: {slots:,} slots in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return project.pk


def worker_tokens(n: int) -> list[str]:
    from rest_framework.authtoken.models import Token

    from core.models import User

    tokens = []
    for i in range(n):
        user, _ = User.objects.get_or_create(
            username=f"bench-worker-{i}", defaults={"role": User.Role.PARTICIPANT}
        )
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    return tokens


def start_server(kind: str, workers: int, threads: int) -> subprocess.Popen:
    python = str(ROOT / ".venv" / "bin" / "python")
    if kind == "gunicorn":
        command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "valuelab.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ]
    else:
        command = [python, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"]
    process = subprocess.Popen(command, cwd=ROOT, env=server_env(), start_new_session=True)
    for _ in range(120):
        try:
            if requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(process)
    raise SystemExit("the server did not start")


def server_cpu_seconds(process: subprocess.Popen) -> float:
    """Return the CPU time (user + system) the server's processes have used so far."""
    try:
        import psutil
    except ImportError:
        return float("nan")
    root = psutil.Process(process.pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def database_cpu_seconds() -> float:
    """Return the CPU time PostgreSQL's processes have used so far (0 on SQLite: in-process)."""
    try:
        import psutil
    except ImportError:
        return float("nan")
    total = 0.0
    for proc in psutil.process_iter(["name", "cpu_times"]):
        name, times = proc.info["name"] or "", proc.info["cpu_times"]
        if name.startswith("postgres") and times:
            total += times.user + times.system
    return total


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


class Tally:
    """What the client threads saw, shared under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {"next": [], "submit": [], "error": []}
        self.finished: set[str] = set()
        self.statuses: Counter = Counter()
        self.created = 0
        self.retries = 0
        self.done = 0
        self.premature = 0

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.statuses[status] += 1


class Client:
    """One worker's keep-alive HTTP connection (http.client: a thin client, so the figures are
    the server's, not the load generator's; ``requests`` cost ~1.5 ms of CPU per annotation)."""

    class Response:
        def __init__(self, status_code: int, body: bytes):
            self.status_code, self.body = status_code, body

        def json(self):
            return json.loads(self.body)

    def __init__(self, token: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
        self.headers = {"Authorization": f"Token {token}"}

    def request(self, method: str, path: str, payload=None) -> "Client.Response":
        headers = dict(self.headers)
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return self.Response(response.status, response.read())
        except (OSError, http.client.HTTPException):
            self.connection.close()  # reconnects on the next request
            raise

    def get(self, path: str) -> "Client.Response":
        return self.request("GET", path)

    def post(self, path: str, payload) -> "Client.Response":
        return self.request("POST", path, payload)


def run_worker(base: str, token: str, project_id: int, tally: Tally, stop_at: float | None,
               check_done) -> None:  # fmt: skip

    session = Client(token)
    rng = random.Random(token)
    while stop_at is None or time.perf_counter() < stop_at:
        try:
            step(session, base, project_id, tally, check_done, token, rng)
        except (OSError, http.client.HTTPException) as error:
            # A dropped connection is the server failing: counted with the 5xx.
            tally.record("error", 0.0, 599)
            print(f"client error: {error}", file=sys.stderr)
            time.sleep(0.1)
        if token in tally.finished:
            return


def step(session, base, project_id, tally, check_done, token, rng) -> None:
    started = time.perf_counter()
    response = session.get(f"/api/annotation/projects/{project_id}/next/")
    tally.record("next", time.perf_counter() - started, response.status_code)
    if response.status_code == 204:
        with tally.lock:
            tally.done += 1
            tally.finished.add(token)
        if check_done is not None and not check_done(token):
            with tally.lock:
                tally.premature += 1
        return
    if response.status_code != 200:
        time.sleep(0.05)
        return
    item = response.json()["item"]
    if item is None:
        with tally.lock:
            tally.retries += 1
        time.sleep(min(0.2, response.json()["retry_after"]))
        return
    keys = item["dimensions"]
    labels = dict((item["prelabel"] or {}).get("labels") or dict.fromkeys(keys, 0))
    labels[rng.choice(keys)] = rng.choice((-1, 0, 1))  # a worker corrects one value
    started = time.perf_counter()
    response = session.post(
        f"/api/annotation/items/{item['id']}/annotations/",
        {"labels": labels, "seconds": rng.uniform(5, 30)},
    )
    tally.record("submit", time.perf_counter() - started, response.status_code)
    if response.status_code == 201:
        with tally.lock:
            tally.created += 1


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_clients(tokens, project_id, seconds, check_done=None) -> tuple[Tally, float]:
    tally = Tally()
    base = f"http://127.0.0.1:{PORT}"
    stop_at = time.perf_counter() + seconds if seconds else None
    threads = [
        threading.Thread(target=run_worker, args=(base, t, project_id, tally, stop_at, check_done))
        for t in tokens
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - started


def invariants(project_id: int) -> dict:
    """Return the checks on a project: most annotations on an item, pairs twice, totals."""
    from django.db.models import Count

    from annotation.models import Annotation, Item, Project, Slot

    project = Project.objects.get(pk=project_id)
    annotations = Annotation.objects.filter(item__project=project, excluded=False)
    most = annotations.values("item_id").annotate(n=Count("pk")).order_by("-n").values_list("n")[:1]
    pairs = annotations.values("item_id", "annotator_id").annotate(n=Count("pk")).filter(n__gt=1)
    return {
        "items": Item.objects.filter(project=project).count(),
        "overlap": project.overlap,
        "annotations": annotations.count(),
        "done_slots": Slot.objects.filter(project=project, state="done").count(),
        "most_on_one_item": most[0][0] if most else 0,
        "worker_twice_on_an_item": pairs.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--workers", default="5,20,50")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--drain-items", type=int, default=600)
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--server-workers", type=int, default=3)
    parser.add_argument("--server-threads", type=int, default=8)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    levels = [int(n) for n in args.workers.split(",")]

    if not os.environ.get("DATABASE_URL"):
        if not args.skip_seed:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{DEFAULT_SQLITE}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{DEFAULT_SQLITE}"
    if args.server == "gunicorn" and not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        print("gunicorn is not installed: using runserver", file=sys.stderr)
        args.server = "runserver"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=server_env()
    )
    import django

    django.setup()
    from django.db import connection

    from annotation.models import Annotation, Project, Slot

    if args.skip_seed and Project.objects.filter(slug=BIG_PROJECT).exists():
        big = Project.objects.get(slug=BIG_PROJECT).pk
    else:
        big = seed_project(BIG_PROJECT, args.items, args.overlap)
    drain = seed_project(DRAIN_PROJECT, args.drain_items, args.overlap)
    tokens = worker_tokens(max(levels))
    connection.close()

    print(
        f"database: {connection.vendor}; server: {args.server}"
        + (
            f" ({args.server_workers} processes x {args.server_threads} threads)"
            if args.server == "gunicorn"
            else ""
        )
        + f"; {args.items:,} items, k = {args.overlap}; {os.cpu_count()} CPUs shared by server"
        " and clients"
    )
    server = start_server(args.server, args.server_workers, args.server_threads)
    five_xx = 0
    try:
        print(
            "| workers | annotations/s | next p50 / p95 (ms) | submit p50 / p95 (ms) | "
            "retry-later answers | 5xx | CPU per annotation: server / database / clients (ms) |"
        )
        print("|---|---|---|---|---|---|---|")
        for level in levels:
            cpu_before = server_cpu_seconds(server)
            db_before, client_before = database_cpu_seconds(), time.process_time()
            tally, elapsed = run_clients(tokens[:level], big, args.seconds)
            per = 1000 / max(1, tally.created)
            cpu_ms = per * (server_cpu_seconds(server) - cpu_before)
            db_ms = per * (database_cpu_seconds() - db_before)
            client_ms = per * (time.process_time() - client_before)
            errors = sum(n for status, n in tally.statuses.items() if status >= 500)
            five_xx += errors
            print(
                f"| {level} | {tally.created / elapsed:.0f} | "
                f"{1000 * percentile(tally.latency['next'], 0.5):.1f} / "
                f"{1000 * percentile(tally.latency['next'], 0.95):.1f} | "
                f"{1000 * percentile(tally.latency['submit'], 0.5):.1f} / "
                f"{1000 * percentile(tally.latency['submit'], 0.95):.1f} | "
                f"{tally.retries} | {errors} | {cpu_ms:.1f} / {db_ms:.1f} / {client_ms:.1f} |",
                flush=True,
            )

        from core.models import User

        user_for = {
            t.key: t.user_id
            for t in __import__(
                "rest_framework.authtoken.models", fromlist=["Token"]
            ).Token.objects.filter(key__in=tokens)
        }

        def nothing_open_for(token: str) -> bool:
            # At the moment the worker heard "done": every slot on an item they did not
            # label is done (none free, none leased by anyone).
            worker = User.objects.get(pk=user_for[token])
            labelled = Annotation.objects.filter(annotator=worker, item__project_id=drain)
            is_open = (
                Slot.objects.filter(project_id=drain, position__lt=args.overlap)
                .exclude(state="done")
                .exclude(item_id__in=labelled.values("item_id"))
                .exists()
            )
            connection.close()
            return not is_open

        tally, elapsed = run_clients(tokens[: max(levels)], drain, 0, nothing_open_for)
        five_xx += sum(n for status, n in tally.statuses.items() if status >= 500)
        print(
            f"\ndrain: {args.drain_items} items x {args.overlap} by {max(levels)} workers in "
            f"{elapsed:.1f} s ({tally.created / elapsed:.0f} annotations/s); "
            f"{tally.done} workers told done, {tally.premature} of them too early; "
            f"{tally.retries} retry-later answers"
        )
    finally:
        stop_server(server)

    for name, project_id in (("throughput project", big), ("drained project", drain)):
        facts = invariants(project_id)
        print(f"{name}: {facts}")
    facts = invariants(drain)
    big_facts = invariants(big)
    checks = {
        "no item over k": max(facts["most_on_one_item"], big_facts["most_on_one_item"])
        <= args.overlap,
        "no worker twice on an item": facts["worker_twice_on_an_item"]
        == big_facts["worker_twice_on_an_item"]
        == 0,
        "total = items x k (drained)": facts["annotations"] == facts["items"] * facts["overlap"],
        "annotations = done slots": facts["annotations"] == facts["done_slots"]
        and big_facts["annotations"] == big_facts["done_slots"],
        "no premature done": tally.premature == 0,
        "every drain worker heard done": tally.done == max(levels),
        "no 5xx": five_xx == 0,
    }
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}: {check}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
