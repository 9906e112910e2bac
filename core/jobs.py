"""Long jobs for every app: start one, run it on a worker, report progress, cancel, retry.

An app registers a job type with a handler that takes the job and a ``JobProgress``::

    @job_type("annotation.prelabel", retry_on=(LLMUnavailable,))
    def prelabel(job: Job, progress: JobProgress) -> dict:
        progress.update(done=0, total=n, message="Pre-labelling")
        ...
        return {"labelled": n}

``job_start`` stores the job and enqueues it when the transaction commits. The worker claims the
job with a conditional UPDATE, so a message delivered twice runs the job once; a job whose worker
died (no heartbeat for ``JOB_STALE_SECONDS``) can be claimed again. Handlers must be idempotent.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.models import Job, Study, User

logger = logging.getLogger(__name__)

Handler = Callable[[Job, "JobProgress"], dict | None]


class JobCancelled(Exception):
    """Raised inside a handler when a user asked to cancel its job."""


class JobFailed(Exception):
    """Raised by a handler to fail its job with a message and a partial result to keep."""

    def __init__(self, message: str, *, result: dict | None = None):
        super().__init__(message)
        self.result = result or {}


@dataclass(frozen=True)
class JobType:
    kind: str
    handler: Handler
    retry_on: tuple[type[BaseException], ...] = ()
    max_retries: int = 5
    title: str = ""
    queue: str | None = None  # None: the default queue; e.g. "training" for long GPU jobs
    # torch/transformers jobs: their lazy imports and CUDA state are not thread-safe, so they
    # refuse to run in a worker's thread pool (they need a prefork child of their own).
    needs_own_process: bool = False


JOB_TYPES: dict[str, JobType] = {}


def job_type(
    kind: str,
    *,
    retry_on: tuple[type[BaseException], ...] = (),
    max_retries: int = 5,
    title: str = "",
    queue: str | None = None,
    needs_own_process: bool = False,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the code that runs jobs of ``kind`` (on ``queue`` if given)."""

    def register(handler: Handler) -> Handler:
        JOB_TYPES[kind] = JobType(
            kind=kind,
            handler=handler,
            retry_on=retry_on,
            max_retries=max_retries,
            title=title,
            queue=queue,
            needs_own_process=needs_own_process,
        )
        return handler

    return register


@dataclass
class JobProgress:
    """What a handler uses to report progress; each update is a heartbeat and a cancel check."""

    job: Job
    _last_write: float = field(default=0.0, repr=False)

    def update(
        self, *, done: int | None = None, total: int | None = None, message: str | None = None
    ) -> None:
        """Store progress (and beat the heartbeat); raise ``JobCancelled`` if cancel was asked."""
        changes: dict = {"heartbeat": timezone.now()}
        if done is not None:
            changes["progress_done"] = self.job.progress_done = done
        if total is not None:
            changes["progress_total"] = self.job.progress_total = total
        if message is not None:
            changes["message"] = self.job.message = message[:500]
        Job.objects.filter(pk=self.job.pk).update(**changes)
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled

    def advance(self, steps: int = 1, *, message: str | None = None) -> None:
        """Add ``steps`` to the work done."""
        self.update(done=self.job.progress_done + steps, message=message)


def job_start(
    *,
    kind: str,
    params: dict | None = None,
    created_by: User | None = None,
    study: Study | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """Store a job and enqueue it once the current transaction commits; return the job.

    With an ``idempotency_key`` (e.g. a form's one-time token) a second call returns the first
    job instead of starting another, so a double click starts one job.
    """
    if kind not in JOB_TYPES:
        raise ValidationError({"kind": f"Unknown job type {kind!r}."})
    defaults = {"kind": kind, "params": params or {}, "created_by": created_by, "study": study}
    if idempotency_key:
        job, created = Job.objects.get_or_create(idempotency_key=idempotency_key, defaults=defaults)
        if not created:
            return job
    else:
        job = Job.objects.create(**defaults)
    _enqueue(job)
    return job


def _enqueue(job: Job) -> None:
    from core.tasks import run_job

    job_id = str(job.pk)
    queue = JOB_TYPES[job.kind].queue if job.kind in JOB_TYPES else None
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: run_job.apply_async(args=[job_id], **options))


def job_cancel(*, job: Job) -> Job:
    """Ask ``job`` to stop: a queued job is cancelled now, a running one at its next update."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RETRYING]).update(
        status=Job.Status.CANCELLED, cancel_requested=True, finished=now, message="Cancelled."
    )
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def job_retry(*, job: Job) -> Job:
    """Queue a failed or cancelled job again (a job that is not finished is left alone)."""
    requeued = (
        Job.objects.filter(pk=job.pk, status__in=Job.FINISHED)
        .exclude(status=Job.Status.SUCCEEDED)
        .update(
            status=Job.Status.QUEUED,
            cancel_requested=False,
            error="",
            message="Queued again.",
            finished=None,
            progress_done=0,
        )
    )
    job.refresh_from_db()
    if requeued:
        _enqueue(job)
    return job


def job_claim(job_id: str) -> Job | None:
    """Mark the job running for this worker and return it, or None if another run owns it."""
    now = timezone.now()
    stale = now - timedelta(seconds=getattr(settings, "JOB_STALE_SECONDS", 600))
    claimable = Q(status__in=[Job.Status.QUEUED, Job.Status.RETRYING]) | Q(
        status=Job.Status.RUNNING, heartbeat__lt=stale
    )
    won = Job.objects.filter(claimable, pk=job_id, cancel_requested=False).update(
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


def job_execute(job_id: str, *, retries: int = 0, in_thread_pool: bool = False) -> float | None:
    """Run one claimed attempt of a job; return a retry delay in seconds if it should retry.

    Called by the Celery task (``in_thread_pool`` when the worker runs tasks in threads).
    Everything the outcome means is written to the job row.
    """
    job = job_claim(job_id)
    if job is None:
        logger.info("Job %s is not claimable (finished, cancelled or running elsewhere).", job_id)
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
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.RETRYING, message=f"Temporary error, retrying in {delay:.0f} s: {exc}"
        )
        return delay
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        _finish(job, Job.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        done = max(job.progress_done, job.progress_total)
        _finish(job, Job.Status.SUCCEEDED, result=result, progress_done=done, error="")
    return None
