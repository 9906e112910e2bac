"""A job through a real Celery worker process on the real broker (Redis in CI), not eager mode.

Runs when CELERY_BROKER_URL names a broker and the database is one a second process can open
(PostgreSQL); on the default SQLite set-up it is skipped with the reason.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from core.models import Job, LLMCall
from tests.core.test_llm_check import VALID_CARD
from tests.llm_double import OpenAIDouble
from valuelab.celery import app as celery_app

BASE_DIR = Path(__file__).resolve().parents[2]

# Skipped when collected, not in the fixture: a transactional test set up and then skipped still
# empties the database, and the serialized-rollback tests run after it could not restore theirs.
NEEDS_WORKER = pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL")
    or not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs CELERY_BROKER_URL and a PostgreSQL DATABASE_URL (make test on CI sets both)",
)
pytestmark = [NEEDS_WORKER, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(transactional_db, tmp_path):
    """Start `celery worker` in its own process on the test database and a private queue."""
    if not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("needs CELERY_BROKER_URL (make test on CI sets Redis)")
    if connection.vendor != "postgresql":
        pytest.skip("needs a database a second process can share (DATABASE_URL=postgres://…)")
    queue = f"valuelab-test-{uuid.uuid4().hex[:8]}"
    double = OpenAIDouble().start()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "VALUELAB_CELERY_QUEUE": queue,
        "OPENAI_BASE_URL": double.url,
        "OPENAI_API_KEY": "test-key",
        "VALUELAB_LLM_MAX_RETRIES": "1",
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "valuelab",
                "worker",
                "--pool",
                "solo",
                "--queues",
                queue,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield double
    finally:
        celery_app.conf.task_default_queue = previous_queue
        process.terminate()
        process.wait(timeout=20)
        double.stop()
        print(log.read_text())


def wait_until_finished(job: Job, seconds: float = 90) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job still {job.status} after {seconds} s: {job.message}")


def test_the_llm_check_runs_on_a_real_worker_and_reports_progress(worker, rita, api_for):
    worker.reply("2 + 2 is 4.")
    worker.reply("It is 4.")
    worker.reply_json({"answer": "4", "confident": True})
    worker.reply_json(VALID_CARD)

    response = api_for(rita).post("/api/llm-check/", HTTP_IDEMPOTENCY_KEY="click-1")
    job = wait_until_finished(Job.objects.get(pk=response.json()["id"]))

    assert response.status_code == 202
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total) == (5, 5)
    assert [step["step"] for step in job.result["steps"]] == [
        "chat",
        "streaming",
        "structured",
        "embeddings",
        "values card (the interview's)",
    ]
    assert job.result["endpoint"]["structured_mode"] == "json_schema"
    assert job.result["steps"][0]["output"] == "2 + 2 is 4."
    calls = LLMCall.objects.filter(purpose="core.llm_check", user=rita)
    assert sorted(calls.values_list("kind", flat=True)) == [
        "chat",
        "embed",
        "stream",
        "structured",
        "structured",
    ]
    assert set(calls.values_list("outcome", flat=True)) == {"ok"}


def test_a_failing_endpoint_fails_the_job_and_names_the_step(worker, rita, api_for, settings):
    worker.fail(status=500, times=100)

    response = api_for(rita).post("/api/llm-check/")
    job = wait_until_finished(Job.objects.get(pk=response.json()["id"]))

    assert job.status == Job.Status.FAILED
    assert "chat:" in job.error
    assert LLMCall.objects.filter(user=rita, outcome="error").exists()
