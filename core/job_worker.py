"""What runs on a worker: claim a job, beat its heartbeat, run its handler, record the outcome;
and the sweep that queues again (or fails) the jobs whose worker died."""

import logging
import random
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from core.jobs import (
    JOB_TYPES,
    JobCancelled,
    JobFailed,
    JobProgress,
    JobType,
    held_by_no_worker,
    job_enqueue,
    worker_lost,
)
from core.models import Job

logger = logging.getLogger(__name__)


def job_claim(job_id: str) -> Job | None:
    """Mark the job running for this worker and return it, or None if another run owns it."""
    now = timezone.now()
    won = Job.objects.filter(held_by_no_worker(now), pk=job_id, cancel_requested=False).update(
        status=Job.Status.RUNNING, heartbeat=now, attempts=F("attempts") + 1
    )
    if not won:
        return None
    Job.objects.filter(pk=job_id, started__isnull=True).update(started=now)
    return Job.objects.get(pk=job_id)


def _finish(job: Job, status: str, **changes) -> None:
    Job.objects.filter(pk=job.pk).update(status=status, finished=timezone.now(), **changes)


THREAD_POOL_REFUSAL = (
    "This job needs a worker process of its own and was sent to a worker that runs jobs in "
    "threads. Start the training worker as the README says (make training-worker: --pool "
    "prefork --concurrency 1 --max-tasks-per-child 1 --queues training), then retry the job."
)


def heartbeat_beat(job_id: str) -> None:
    """Mark a running job as alive now (called from the worker's heartbeat thread)."""
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(heartbeat=timezone.now())


class _Heartbeat:
    """Beat a running job's heartbeat from a thread, so a slow step never looks like a dead worker.

    The thread dies with its process: a killed worker's job goes stale and the sweeper acts.
    """

    def __init__(self, job_id: str, *, enabled: bool):
        self.job_id = job_id
        self.enabled = enabled
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"job-heartbeat:{job_id}")
        self.thread.daemon = True

    def __enter__(self) -> "_Heartbeat":
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        if self.enabled:
            self.thread.join(timeout=5)

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    heartbeat_beat(self.job_id)
                except Exception:  # a database hiccup must not kill the job; the next beat retries
                    logger.warning("Heartbeat of job %s failed", self.job_id, exc_info=True)
        finally:
            connection.close()


def job_execute(
    job_id: str, *, retries: int = 0, in_thread_pool: bool = False, heartbeat: bool = False
) -> float | None:
    """Run one claimed attempt of a job; return a retry delay in seconds if it should retry.

    Called by the Celery task (``in_thread_pool`` when the worker runs tasks in threads;
    ``heartbeat`` on a real worker, where a thread beats the job's heartbeat while it runs).
    Everything the outcome means is written to the job row.
    """
    job = job_claim(job_id)
    if job is None:
        if _settle_cancelled(job_id):
            logger.info("Job %s was cancelled while no worker held it.", job_id)
        else:
            logger.info("Job %s is not claimable (finished or running elsewhere).", job_id)
        return None
    spec = JOB_TYPES.get(job.kind)
    if spec is None:
        _finish(job, Job.Status.FAILED, error=f"No handler for job type {job.kind!r}.")
        return None
    if spec.needs_own_process and in_thread_pool:
        _finish(job, Job.Status.FAILED, error=THREAD_POOL_REFUSAL)
        return None
    progress = JobProgress(job)
    try:
        with _Heartbeat(job_id, enabled=heartbeat):
            result = spec.handler(job, progress) or {}
    except JobCancelled:
        _finish(job, Job.Status.CANCELLED, message="Cancelled.")
    except JobFailed as exc:
        _finish(job, Job.Status.FAILED, error=str(exc), result=exc.result)
    except spec.retry_on as exc:
        if retries >= spec.max_retries:
            _finish(job, Job.Status.FAILED, error=f"Gave up after {retries + 1} attempts: {exc}")
            return None
        delay = min(600.0, 2.0 * 2**retries) * (0.5 + random.random() / 2)
        # The heartbeat is set to when the retry is due: the sweeper takes a retry that never
        # came (its worker died holding the delayed message) for a lost worker.
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.RETRYING,
            heartbeat=timezone.now() + timedelta(seconds=delay),
            message=f"Temporary error, retrying in {delay:.0f} s: {exc}",
        )
        return delay
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        _finish(job, Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        done = max(job.progress_done, job.progress_total)
        _finish(job, Job.Status.SUCCEEDED, result=result, progress_done=done, error="")
    return None


def _settle_cancelled(job_id: str) -> bool:
    """Mark a job whose cancel was asked cancelled if no live worker holds it; return if so."""
    return bool(
        Job.objects.filter(held_by_no_worker(), pk=job_id, cancel_requested=True).update(
            status=Job.Status.CANCELLED, finished=timezone.now(), message="Cancelled."
        )
    )


def jobs_sweep(*, now=None) -> dict[str, list[str]]:
    """Queue again or fail each job whose worker died; return the ids by what was done.

    A running job (or one waiting to retry) whose heartbeat is older than ``JOB_STALE_SECONDS``
    has lost its worker. Its job type says what to do (``when_worker_lost``); a job asked to
    cancel is cancelled, and one that lost more workers than ``JOB_MAX_REQUEUES`` is failed.
    Each change is a conditional UPDATE, so two sweepers (or a sweeper and a worker) never both
    act on one job.
    """
    now = now or timezone.now()
    stale = worker_lost(now)
    done: dict[str, list[str]] = {"requeued": [], "failed": [], "cancelled": []}
    for job in Job.objects.filter(stale).order_by("pk"):
        spec = JOB_TYPES.get(job.kind)
        this = Job.objects.filter(stale, pk=job.pk, heartbeat=job.heartbeat)
        last_seen = f"{job.heartbeat:%Y-%m-%d %H:%M:%S} UTC"
        if job.cancel_requested:
            won = this.update(status=Job.Status.CANCELLED, finished=now, message="Cancelled.")
            outcome = "cancelled"
        elif spec is None or spec.when_worker_lost == "fail" or _lost_too_often(job, spec):
            won = this.update(
                status=Job.Status.FAILED,
                finished=now,
                error=f"The worker running this job stopped (last heard from at {last_seen}). "
                + ("Retry it when the cause is fixed." if spec else "Its job type is unknown."),
            )
            outcome = "failed"
        else:
            won = this.update(
                status=Job.Status.QUEUED,
                heartbeat=None,
                message=f"The worker running this job stopped at {last_seen}; queued again.",
            )
            if won:
                job_enqueue(job)
            outcome = "requeued"
        if won:
            logger.warning("Job %s (%s) lost its worker: %s", job.pk, job.kind, outcome)
            done[outcome].append(str(job.pk))
    return done


def _lost_too_often(job: Job, spec: JobType) -> bool:
    # Each claim is an attempt; a job may use its retries plus JOB_MAX_REQUEUES lost workers (a
    # job that kills its worker each time, e.g. out of memory, must not loop for ever).
    return job.attempts > spec.max_retries + settings.JOB_MAX_REQUEUES
