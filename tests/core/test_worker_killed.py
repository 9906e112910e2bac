"""kill -9 of a real worker process mid-job: the job finishes once, soon after a worker is back.

Runs when CELERY_BROKER_URL names a broker and the database is PostgreSQL (as on CI); the
worker, the sweeper (celery beat, embedded in the second worker) and the LLM double are real.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from annotation.models import Item, Prelabel
from annotation.prelabel import prelabel_start
from core.models import Job
from tests.annotation.factories import ProjectFactory
from tests.core.test_worker import BASE_DIR, NEEDS_WORKER, _database_url
from tests.llm_double import OpenAIDouble
from valuelab.celery import app as celery_app

pytestmark = [NEEDS_WORKER, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ITEMS = 400


def start_worker(queue: str, double: OpenAIDouble, log, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "VALUELAB_CELERY_QUEUE": queue,
        "OPENAI_BASE_URL": double.url,
        "OPENAI_API_KEY": "test-key",
        "VALUELAB_LLM_MAX_RETRIES": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "valuelab", "worker", "--pool", "solo"]
    command += ["--queues", queue, "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(
        command + list(extra), cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds} s")


@pytest.fixture
def queue():
    name = f"valuelab-test-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    yield name
    celery_app.conf.task_default_queue = previous


def test_a_job_whose_worker_is_killed_finishes_once_within_two_minutes_of_a_worker_back(
    queue, rita, tmp_path
):
    project = ProjectFactory(prelabel=True)
    Item.objects.bulk_create(
        Item(project=project, external_id=f"i{n}", prompt=f"Question {n}?", response="Yes.")
        for n in range(ITEMS)
    )
    double = OpenAIDouble().start()
    double.latency = 0.5  # 48 requests in flight: about 5 s for the whole project
    log = (tmp_path / "workers.log").open("w")
    first = start_worker(queue, double, log)
    second = None
    try:
        job = prelabel_start(project=project, created_by=rita)
        wait_for(lambda: Job.objects.get(pk=job.pk).progress_done >= 30, 90, "30 pre-labels stored")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = Job.objects.get(pk=job.pk)
        assert killed_at.status == Job.Status.RUNNING and killed_at.progress_done < ITEMS

        back = time.monotonic()
        schedule = tmp_path / "celerybeat-schedule"
        second = start_worker(queue, double, log, "--beat", "--schedule", str(schedule))
        done = wait_for(
            lambda: (j := Job.objects.get(pk=job.pk)).is_finished and j, 120, "the job finishing"
        )
        recovery = time.monotonic() - back
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        double.stop()
        log.close()
        print((tmp_path / "workers.log").read_text()[-6000:])

    print(f"recovery: the job finished {recovery:.1f} s after the second worker started")
    assert done.status == Job.Status.SUCCEEDED, done.error
    assert done.attempts == 2, "claimed by the killed worker, then once more"
    assert Prelabel.objects.filter(item__project=project).count() == ITEMS
    assert done.result["labelled"] + done.result["failed"] <= ITEMS
    assert recovery < 120
