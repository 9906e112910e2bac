"""The annotate loop in-process: queries and milliseconds per next / submit, and a profile.

    python bench/profile_annotate_loop.py [--items 2000] [--overlap 3] [--workers 4]
                                          [--cycles 300] [--profile 20]

With no DATABASE_URL it uses a throwaway SQLite file (settings as deployed); with one, that
database (migrated and filled). Each cycle is one worker's GET next + POST labels through DRF's
APIClient with a token, as the HTTP bench does, but without a server: what is left is the
Django + DRF + ORM work per request. Prints queries, wall ms (mean, p50, p95) and CPU ms per
request (on SQLite the database work is in this process, so CPU ms is the whole cost) and,
with --profile, the top functions by cumulative time.
"""

import argparse
import cProfile
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")

DEFAULT_SQLITE = Path("/tmp") / "valuelab-profile-annotate.sqlite3"


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--profile", type=int, default=20, help="top N functions (0: none)")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_SQLITE}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{DEFAULT_SQLITE}"
    from bench_annotate_loop import seed_project, server_env, worker_tokens

    os.environ.update(server_env())
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    project_id = seed_project("profile-annotate", args.items, args.overlap)
    clients = []
    for token in worker_tokens(args.workers):
        client = APIClient(SERVER_NAME="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        clients.append(client)
    rng = random.Random(5)
    figures = {"next": ([], [], []), "submit": ([], [], [])}  # (ms, CPU ms, queries)

    def timed(kind, call):
        with CaptureQueriesContext(connection) as queries:
            started, cpu = time.perf_counter(), time.process_time()
            response = call()
            figures[kind][0].append((time.perf_counter() - started) * 1000)
            figures[kind][1].append((time.process_time() - cpu) * 1000)
        figures[kind][2].append(len(queries))
        return response

    def cycle(client):
        response = timed("next", lambda: client.get(f"/api/annotation/projects/{project_id}/next/"))
        assert response.status_code == 200, (response.status_code, response.content[:300])
        item = response.json()["item"]
        keys = item["dimensions"]
        labels = dict((item["prelabel"] or {}).get("labels") or dict.fromkeys(keys, 0))
        labels[rng.choice(keys)] = rng.choice((-1, 0, 1))
        url = f"/api/annotation/items/{item['id']}/annotations/"
        body = {"labels": labels, "seconds": rng.uniform(5, 30)}
        response = timed("submit", lambda: client.post(url, body, format="json"))
        assert response.status_code == 201, (response.status_code, response.content[:300])

    for client in clients:  # warm-up: first contact creates the worker's status
        cycle(client)
    for values in figures.values():
        for series in values:
            series.clear()

    started = time.perf_counter()
    for n in range(args.cycles):
        cycle(clients[n % len(clients)])
    elapsed = time.perf_counter() - started

    print(f"database: {connection.vendor}; {args.items} items, k={args.overlap}, ", end="")
    print(f"{args.workers} workers, {args.cycles} cycles; load {os.getloadavg()[0]:.2f}")
    for kind, (ms, cpu, queries) in figures.items():
        print(
            f"{kind:>6}: {statistics.mean(queries):.1f} queries; ms mean {statistics.mean(ms):.1f}"
            f" p50 {pct(ms, 0.5):.1f} p95 {pct(ms, 0.95):.1f}; CPU ms mean"
            f" {statistics.mean(cpu):.1f} p50 {pct(cpu, 0.5):.1f}"
        )
    print(f"cycle: {elapsed / args.cycles * 1000:.1f} ms ({args.cycles / elapsed:.0f} cycles/s)")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(min(args.cycles, 100)):
            cycle(clients[n % len(clients)])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
