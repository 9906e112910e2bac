"""Long jobs: enqueued on commit, run once however often delivered, retried, cancelled, shown."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.job_worker import job_execute
from core.jobs import JobProgress, job_cancel, job_retry, job_start, job_type
from core.models import Job
from core.tasks import run_job
from valuelab.celery import app as celery_app


class Flaky(Exception):
    """A transient error, e.g. the LLM endpoint answering 503."""


RUNS: list[str] = []


@job_type("tests.count", retry_on=(Flaky,), max_retries=2)
def count_to(job: Job, progress: JobProgress) -> dict:
    RUNS.append(str(job.pk))
    total = job.params.get("to", 3)
    failures_wanted = job.params.get("fail_times", 0)
    if job.attempts <= failures_wanted:
        raise Flaky(f"attempt {job.attempts} failed")
    progress.update(done=0, total=total, message="Counting")
    for number in range(1, total + 1):
        if job.params.get("crash_at") == number:
            raise ValueError("the data ran out")
        progress.update(done=number, message=f"Counted {number}")
    return {"counted": total}


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()


def start(django_capture_on_commit_callbacks, **params) -> Job:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_start(kind="tests.count", params=params)
    assert len(callbacks) == 1, "the job is enqueued only when the transaction commits"
    return job


def test_a_job_runs_to_the_end_and_records_progress_and_result(
    db, django_capture_on_commit_callbacks
):
    job = start(django_capture_on_commit_callbacks, to=4)

    run_job.apply(args=[str(job.pk)])

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (4, 4, 100)
    assert job.result == {"counted": 4}
    assert job.started and job.finished and job.attempts == 1


def test_a_job_delivered_twice_runs_once(db, django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks)

    run_job.apply(args=[str(job.pk)])
    run_job.apply(args=[str(job.pk)])

    assert RUNS == [str(job.pk)]


def test_a_transient_error_is_retried_with_backoff_then_succeeds(
    db, django_capture_on_commit_callbacks
):
    job = start(django_capture_on_commit_callbacks, fail_times=1)

    delay = job_execute(str(job.pk), retries=0)
    job.refresh_from_db()
    assert job.status == Job.Status.RETRYING
    assert 1 <= delay <= 2
    assert "attempt 1 failed" in job.message

    assert job_execute(str(job.pk), retries=1) is None
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2


def test_the_celery_task_retries_a_transient_error(db, django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks, fail_times=2)

    # Eager mode runs each retry at once (no countdown) and then reports the Retry it raised;
    # the worker test runs the same retry through a real broker.
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    try:
        run_job.apply(args=[str(job.pk)], throw=False)
    finally:
        celery_app.conf.task_eager_propagates = propagates

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.attempts == 3


def test_a_job_gives_up_after_its_retries(db, django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks, fail_times=9)

    for retries in range(3):
        job_execute(str(job.pk), retries=retries)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("Gave up after 3 attempts")


def test_an_unexpected_error_fails_the_job_with_its_message(db, django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks, to=5, crash_at=3)

    run_job.apply(args=[str(job.pk)])

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "ValueError: the data ran out"
    assert job.progress_done == 2


def test_a_failed_job_can_be_retried_and_a_finished_one_is_left_alone(
    db, django_capture_on_commit_callbacks
):
    job = start(django_capture_on_commit_callbacks, to=2, crash_at=1)
    run_job.apply(args=[str(job.pk)])
    Job.objects.filter(pk=job.pk).update(params={"to": 2})

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_retry(job=job)
    run_job.apply(args=[str(job.pk)])

    job.refresh_from_db()
    assert len(callbacks) == 1 and job.status == Job.Status.SUCCEEDED
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_retry(job=job)
    assert callbacks == []


def test_cancelling_a_queued_job_stops_it_before_it_runs(db, django_capture_on_commit_callbacks):
    job = start(django_capture_on_commit_callbacks)

    job_cancel(job=job)
    run_job.apply(args=[str(job.pk)])

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert RUNS == []


def test_cancelling_a_running_job_stops_it_at_its_next_progress_update(db):
    job = Job.objects.create(kind="tests.count", status=Job.Status.RUNNING, params={"to": 3})
    job_cancel(job=job)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)  # as if it had just been taken

    job_execute(str(job.pk))

    job.refresh_from_db()
    # The claim refuses a job whose cancel was requested, so nothing ran, and it ends cancelled.
    assert RUNS == [] and job.status == Job.Status.CANCELLED


def test_a_running_job_sees_the_cancel_at_its_next_update(db):
    job = Job.objects.create(kind="tests.count", status=Job.Status.RUNNING)
    progress = JobProgress(job)
    job_cancel(job=job)

    from core.jobs import JobCancelled

    with pytest.raises(JobCancelled):
        progress.update(done=1)


def test_a_job_whose_worker_died_is_claimed_again(db):
    stale = timezone.now() - timedelta(hours=1)
    job = Job.objects.create(
        kind="tests.count", status=Job.Status.RUNNING, heartbeat=stale, attempts=1
    )

    job_execute(str(job.pk))

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2


def test_a_job_running_elsewhere_is_not_run_twice(db):
    job = Job.objects.create(
        kind="tests.count", status=Job.Status.RUNNING, heartbeat=timezone.now(), attempts=1
    )

    job_execute(str(job.pk))

    assert RUNS == []


def test_a_double_click_starts_one_job(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = job_start(kind="tests.count", idempotency_key="form-token-1")
        second = job_start(kind="tests.count", idempotency_key="form-token-1")

    assert first.pk == second.pk
    assert len(callbacks) == 1


def test_an_unknown_job_type_is_refused(db):
    with pytest.raises(Exception, match="Unknown job type"):
        job_start(kind="nope.nothing")


def test_the_job_page_shows_a_progress_bar_and_htmx_polls_a_fragment(rita, rita_client):
    job = Job.objects.create(
        kind="tests.count",
        created_by=rita,
        status=Job.Status.RUNNING,
        progress_done=1,
        progress_total=4,
        message="Counted 1",
    )
    url = reverse("core:job", args=[job.pk])

    page = rita_client.get(url)
    fragment = rita_client.get(url, headers={"HX-Request": "true"})

    assert b'<progress max="100" value="25"' in page.content
    assert b"<html" in page.content and b"<html" not in fragment.content
    assert b"Counted 1" in fragment.content and b'hx-trigger="every 1s"' in fragment.content
    assert "HX-Request" in fragment["Vary"]
