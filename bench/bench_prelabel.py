"""Time the pre-label job on 1,000 items against the OpenAI double answering after 0.5 s.

    python bench/bench_prelabel.py [--items 1000] [--latency 0.5] [--concurrency 32]

The double runs in its own process (as a real endpoint would: it does not share this process's
interpreter lock), answering every structured request with its schema default after
``--latency`` seconds. The job runs in this process exactly as a worker runs it
(``core.job_worker.job_execute``). With no DATABASE_URL it uses a throwaway SQLite file in the
temporary folder; with one it uses that database and leaves the bench project there.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")

BENCH_PROJECT = "bench-prelabel"
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "valuelab-bench-prelabel.sqlite3"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the OpenAI double did not start on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=None, help="default: the setting's")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        DEFAULT_SQLITE.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{DEFAULT_SQLITE}"
    port = free_port()
    double = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_double", "--port", str(port)]
        + ["--latency", str(args.latency)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
        os.environ["OPENAI_API_KEY"] = "bench"
        run(args)
    finally:
        double.terminate()
        double.wait(timeout=10)


def run(args) -> None:
    import logging

    import django

    django.setup()
    for name in ("httpx", "httpx2", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from annotation.models import Item, Prelabel, Project
    from annotation.prelabel import DEFAULT_CONCURRENCY, prelabel_start
    from annotation.services import project_create
    from core.job_worker import job_execute
    from core.models import Job, LLMCall, ValueScheme

    if args.concurrency:
        settings.ANNOTATION_PRELABEL_CONCURRENCY = args.concurrency
    concurrency = getattr(settings, "ANNOTATION_PRELABEL_CONCURRENCY", DEFAULT_CONCURRENCY)
    call_command("migrate", verbosity=0)
    Project.objects.filter(slug=BENCH_PROJECT).delete()
    project = project_create(
        name="Pre-label bench",
        slug=BENCH_PROJECT,
        scheme=ValueScheme.objects.get(key="schwartz10"),
        created_by=None,
    )
    text = "A response of moderate length, about as long as a short paragraph. " * 4
    Item.objects.bulk_create(
        Item(project=project, external_id=f"b{n}", prompt=f"Question {n}?", response=text)
        for n in range(args.items)
    )
    calls_before = LLMCall.objects.count()

    job = prelabel_start(project=project, created_by=None)
    started = time.perf_counter()
    job_execute(str(job.pk))
    seconds = time.perf_counter() - started
    job.refresh_from_db()

    labelled = Prelabel.objects.filter(item__project=project).count()
    print(f"database: {connection.vendor}, latency {args.latency} s, concurrency {concurrency}")
    print(f"job: {job.status}, {job.result}")
    print(f"pre-labelled {labelled:,} of {args.items:,} items in {seconds:.1f} s")
    print(f"throughput: {labelled / seconds:.1f} items/s (target: at least 50)")
    print(f"LLM calls recorded: {LLMCall.objects.count() - calls_before:,}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            )
            print(f"connections open after the job (this one included): {cursor.fetchone()[0]}")
    if job.status != Job.Status.SUCCEEDED or labelled != args.items:
        raise SystemExit("the bench job did not label every item")


if __name__ == "__main__":
    main()
