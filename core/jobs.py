"""Long jobs for every app: start one, run it on a worker, report progress, cancel, retry.

An app registers a job type with a handler that takes the job and a ``JobProgress``::

    @job_type("annotation.prelabel", retry_on=(LLMUnavailable,))
    def prelabel(job: Job, progress: JobProgress) -> dict:
        progress.update(done=0, total=n, message="Pre-labelling")
        ...
        return {"labelled": n}

``job_start`` stores the job and enqueues it when the transaction commits. The worker claims the
job with a conditional UPDATE, so a message delivered twice runs the job once. While a job runs on
a worker, a thread beats its heartbeat every ``JOB_HEARTBEAT_SECONDS``; a job whose worker died
(no heartbeat for ``JOB_STALE_SECONDS``) can be claimed again, and ``jobs_sweep`` (run by
``celery beat`` every ``JOB_SWEEP_SECONDS``) queues it again or fails it, as its job type says.
Handlers must be idempotent.

What runs on the worker (claiming, the heartbeat, running a handler, the sweep):
``core.job_worker``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
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
    # What the sweeper does with a job whose worker died: "requeue" (run it again; handlers are
    # idempotent) or "fail" (e.g. a training run that may have been killed for its memory).
    when_worker_lost: str = "requeue"


WORKER_LOST_ACTIONS = ("requeue", "fail")

JOB_TYPES: dict[str, JobType] = {}


def job_type(
    kind: str,
    *,
    retry_on: tuple[type[BaseException], ...] = (),
    max_retries: int = 5,
    title: str = "",
    queue: str | None = None,
    needs_own_process: bool = False,
    when_worker_lost: str = "requeue",
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the code that runs jobs of ``kind`` (on ``queue`` if given)."""
    if when_worker_lost not in WORKER_LOST_ACTIONS:
        raise ValueError(f"when_worker_lost must be one of {WORKER_LOST_ACTIONS}")

    def register(handler: Handler) -> Handler:
        JOB_TYPES[kind] = JobType(
            kind=kind,
            handler=handler,
            retry_on=retry_on,
            max_retries=max_retries,
            title=title,
            queue=queue,
            needs_own_process=needs_own_process,
            when_worker_lost=when_worker_lost,
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


def job_key(name: str, *scope: object, token: str | None) -> str | None:
    """Return the idempotency key of starting ``name`` for ``scope`` with a one-time ``token``.

    The key is ``name:scope…:token`` (e.g. ``dedup:7:<form token>``); without a token, return
    None, so every call starts a job of its own. Every start that can be sent twice builds its
    key here.
    """
    if not token:
        return None
    return ":".join([name, *(str(part) for part in scope), token])


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
    job_enqueue(job)
    return job


def job_enqueue(job: Job) -> None:
    """Send ``job`` to its queue once the transaction commits."""
    from core.tasks import run_job

    job_id = str(job.pk)
    queue = JOB_TYPES[job.kind].queue if job.kind in JOB_TYPES else None
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: run_job.apply_async(args=[job_id], **options))


def _stale_before(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.JOB_STALE_SECONDS)


def worker_lost(now=None) -> Q:
    """Match jobs whose worker died: running or waiting to retry, heartbeat gone stale."""
    return Q(status__in=[Job.Status.RUNNING, Job.Status.RETRYING], heartbeat__lt=_stale_before(now))


def held_by_no_worker(now=None) -> Q:
    """Match unfinished jobs no live worker runs: waiting, or whose heartbeat went stale.

    A job waiting to retry counts: the worker holding its delayed message finds it cancelled.
    """
    return Q(status__in=[Job.Status.QUEUED, Job.Status.RETRYING]) | Q(
        status=Job.Status.RUNNING, heartbeat__lt=_stale_before(now)
    )


def job_cancel(*, job: Job) -> Job:
    """Stop ``job``: cancelled now unless a live worker runs it, which stops at its next update.

    A job whose worker died (stale heartbeat) is cancelled at once, so Cancel always ends it.
    """
    now = timezone.now()
    Job.objects.filter(held_by_no_worker(now), pk=job.pk).update(
        status=Job.Status.CANCELLED, cancel_requested=True, finished=now, message="Cancelled."
    )
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def job_abandon_if_stale(*, job: Job, reason: str) -> bool:
    """Fail ``job`` if its worker died (stale heartbeat); return whether it was failed.

    For starts that return the job already under way: a dead one must not be handed out again,
    so the caller starts a fresh job instead. A late redelivery of its message finds it finished.
    """
    failed = Job.objects.filter(worker_lost(), pk=job.pk).update(
        status=Job.Status.FAILED,
        finished=timezone.now(),
        error=f"The worker running this job stopped responding; {reason}",
    )
    if failed:
        job.refresh_from_db()
    return bool(failed)


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
        job_enqueue(job)
    return job
