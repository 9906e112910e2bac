"""Jobs always end: a dead worker's job is queued again or failed, and Cancel always works.

The kill -9 of a real worker process is in test_worker.py (it needs Redis and PostgreSQL).
"""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from annotation.prelabel import prelabel_start
from core.job_worker import job_execute, jobs_sweep
from core.jobs import JobProgress, job_cancel, job_type
from core.models import Job
from core.tasks import run_job
from tests.annotation.factories import ItemFactory, ProjectFactory

RUNS: list[str] = []


@job_type("tests.resumable", max_retries=2)
def resumable(job: Job, progress: JobProgress) -> dict:
    RUNS.append(str(job.pk))
    time.sleep(job.params.get("sleep", 0))
    return {"ran": True}


@job_type("tests.fail_if_lost", when_worker_lost="fail")
def fail_if_lost(job: Job, progress: JobProgress) -> dict:
    RUNS.append(str(job.pk))
    return {"ran": True}


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def lost(kind: str = "tests.resumable", **fields) -> Job:
    """Return a job a worker claimed and then died running (heartbeat two minutes old)."""
    fields = {"status": Job.Status.RUNNING, "heartbeat": ago(120), "attempts": 1} | fields
    return Job.objects.create(kind=kind, started=ago(300), **fields)


def test_the_sweeper_queues_a_dead_workers_job_again_and_it_runs_to_the_end(
    db, django_capture_on_commit_callbacks
):
    job = lost()

    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        swept = jobs_sweep()
    job.refresh_from_db()

    assert swept["requeued"] == [str(job.pk)]
    assert len(enqueued) == 1, "a fresh message is sent for the job"
    assert job.status == Job.Status.QUEUED and "queued again" in job.message

    run_job.apply(args=[str(job.pk)])
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2
    assert RUNS == [str(job.pk)]


def test_a_job_type_that_says_fail_is_failed_naming_when_its_worker_was_last_heard(db):
    job = lost("tests.fail_if_lost")

    assert jobs_sweep()["failed"] == [str(job.pk)]

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished
    assert "The worker running this job stopped (last heard from at" in job.error
    assert RUNS == []


def test_training_jobs_fail_rather_than_start_over_when_their_worker_is_lost():
    from core.jobs import JOB_TYPES
    from training.jobs import ALIGN_POLICY, EXPORT_DPO, SCORE_PROJECT, TRAIN_EVALUATOR

    assert {JOB_TYPES[k].when_worker_lost for k in (TRAIN_EVALUATOR, ALIGN_POLICY, EXPORT_DPO)} == {
        "fail"
    }
    assert JOB_TYPES[SCORE_PROJECT].when_worker_lost == "requeue"  # it skips what it scored
    assert JOB_TYPES["annotation.prelabel"].when_worker_lost == "requeue"


def test_a_job_that_keeps_killing_its_worker_is_failed_in_the_end(db, settings):
    settings.JOB_MAX_REQUEUES = 3
    job = lost(attempts=2 + 1 + 3)  # its retries, the first run and three lost workers used

    assert jobs_sweep()["failed"] == [str(job.pk)]


def test_the_sweeper_leaves_live_jobs_and_pending_retries_alone(db):
    live = lost(heartbeat=ago(5))
    queued = Job.objects.create(kind="tests.resumable")
    retry_due_soon = lost(status=Job.Status.RETRYING, heartbeat=timezone.now() + timedelta(60))
    finished = lost(status=Job.Status.SUCCEEDED)

    assert jobs_sweep() == {"requeued": [], "failed": [], "cancelled": []}

    for job, status in [
        (live, Job.Status.RUNNING),
        (queued, Job.Status.QUEUED),
        (retry_due_soon, Job.Status.RETRYING),
        (finished, Job.Status.SUCCEEDED),
    ]:
        job.refresh_from_db()
        assert job.status == status


def test_a_retry_whose_worker_died_holding_it_is_queued_again(db):
    job = lost(status=Job.Status.RETRYING, heartbeat=ago(120))  # the retry was due 2 min ago

    assert jobs_sweep()["requeued"] == [str(job.pk)]


def test_two_sweepers_act_on_a_dead_job_once(db, django_capture_on_commit_callbacks):
    job = lost()

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        first, second = jobs_sweep(), jobs_sweep()

    assert first["requeued"] == [str(job.pk)] and second["requeued"] == []
    assert len(enqueued) == 1


def test_cancel_ends_a_job_whose_worker_died_at_once(db):
    job = lost()

    job = job_cancel(job=job)

    assert job.status == Job.Status.CANCELLED and job.finished


def test_cancel_of_a_job_a_live_worker_runs_waits_for_its_next_update(db):
    job = lost(heartbeat=ago(1))

    job = job_cancel(job=job)

    assert job.status == Job.Status.RUNNING and job.cancel_requested


def test_a_dead_job_with_a_cancel_asked_is_cancelled_by_the_sweeper(db):
    job = lost(heartbeat=ago(1))
    job_cancel(job=job)
    Job.objects.filter(pk=job.pk).update(heartbeat=ago(120))  # then its worker died

    assert jobs_sweep()["cancelled"] == [str(job.pk)]
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED


def test_a_redelivered_message_of_a_cancelled_job_marks_it_cancelled_without_running_it(db):
    job = lost(heartbeat=ago(1))
    job_cancel(job=job)
    Job.objects.filter(pk=job.pk).update(heartbeat=ago(120))

    job_execute(str(job.pk))  # the broker delivers the dead worker's message again

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and RUNS == []


def test_cancelling_a_job_waiting_to_retry_ends_it_now(db):
    job = lost(status=Job.Status.RETRYING, heartbeat=timezone.now() + timedelta(seconds=60))

    job = job_cancel(job=job)
    job_execute(str(job.pk))  # the delayed message comes due

    assert job.status == Job.Status.CANCELLED and RUNS == []


def test_a_new_pre_label_request_after_a_dead_job_starts_a_fresh_one(db, rita):
    project = ProjectFactory(prelabel=True)
    ItemFactory(project=project)
    stuck = prelabel_start(project=project, created_by=rita)
    Job.objects.filter(pk=stuck.pk).update(status=Job.Status.RUNNING, heartbeat=ago(600))

    fresh = prelabel_start(project=project, created_by=rita)

    stuck.refresh_from_db()
    assert fresh.pk != stuck.pk and fresh.status == Job.Status.QUEUED
    assert stuck.status == Job.Status.FAILED and "stopped responding" in stuck.error


def test_a_new_pre_label_request_while_a_live_job_runs_gets_that_job(db, rita):
    project = ProjectFactory(prelabel=True)
    ItemFactory(project=project)
    running = prelabel_start(project=project, created_by=rita)
    Job.objects.filter(pk=running.pk).update(status=Job.Status.RUNNING, heartbeat=ago(2))

    assert prelabel_start(project=project, created_by=rita).pk == running.pk


def test_a_worker_beats_the_heartbeat_while_a_slow_step_runs(db, settings, monkeypatch):
    # The beat's own UPDATE runs on the kill -9 test's real worker (PostgreSQL); here the
    # thread's beats are counted without a second database connection.
    import core.job_worker

    settings.JOB_HEARTBEAT_SECONDS = 0.05
    job = Job.objects.create(kind="tests.resumable", params={"sleep": 0.5})
    beats = []
    monkeypatch.setattr(core.job_worker, "heartbeat_beat", lambda job_id: beats.append(job_id))

    job_execute(str(job.pk), heartbeat=True)  # what the task does on a real worker

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert len(beats) >= 5 and set(beats) == {str(job.pk)}


def test_the_beat_schedule_runs_the_sweeper_and_redis_has_a_visibility_timeout():
    schedule = django_settings.CELERY_BEAT_SCHEDULE["core-sweep-jobs"]
    assert schedule["task"] == "core.sweep_jobs"
    assert schedule["schedule"] <= 30
    assert django_settings.JOB_STALE_SECONDS + schedule["schedule"] < 120
    assert django_settings.JOB_HEARTBEAT_SECONDS * 3 <= django_settings.JOB_STALE_SECONDS


def test_on_redis_the_broker_redelivers_an_unacknowledged_message_after_the_timeout():
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0", DJANGO_SETTINGS_MODULE="valuelab.settings"
    )

    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)

    options = json.loads(done.stdout.strip().splitlines()[-1])
    assert 600 < options["visibility_timeout"] <= 3600  # longer than any retry delay
