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
"""

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
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
    _enqueue(job)
    return job


def _enqueue(job: Job) -> None:
    from core.tasks import run_job

    job_id = str(job.pk)
    queue = JOB_TYPES[job.kind].queue if job.kind in JOB_TYPES else None
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: run_job.apply_async(args=[job_id], **options))


def _stale_before(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.JOB_STALE_SECONDS)


def _held_by_no_worker(now=None) -> Q:
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
    Job.objects.filter(_held_by_no_worker(now), pk=job.pk).update(
        status=Job.Status.CANCELLED, cancel_requested=True, finished=now, message="Cancelled."
    )
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def _settle_cancelled(job_id: str) -> bool:
    """Mark a job whose cancel was asked cancelled if no live worker holds it; return if so."""
    return bool(
        Job.objects.filter(_held_by_no_worker(), pk=job_id, cancel_requested=True).update(
            status=Job.Status.CANCELLED, finished=timezone.now(), message="Cancelled."
        )
    )


def job_abandon_if_stale(*, job: Job, reason: str) -> bool:
    """Fail ``job`` if its worker died (stale heartbeat); return whether it was failed.

    For starts that return the job already under way: a dead one must not be handed out again,
    so the caller starts a fresh job instead. A late redelivery of its message finds it finished.
    """
    stale = Q(status__in=[Job.Status.RUNNING, Job.Status.RETRYING], heartbeat__lt=_stale_before())
    failed = Job.objects.filter(stale, pk=job.pk).update(
        status=Job.Status.FAILED,
        finished=timezone.now(),
        error=f"The worker running this job stopped responding; {reason}",
    )
    if failed:
        job.refresh_from_db()
    return bool(failed)


def jobs_sweep(*, now=None) -> dict[str, list[str]]:
    """Queue again or fail each job whose worker died; return the ids by what was done.

    A running job (or one waiting to retry) whose heartbeat is older than ``JOB_STALE_SECONDS``
    has lost its worker. Its job type says what to do (``when_worker_lost``); a job asked to
    cancel is cancelled, and one that lost more workers than ``JOB_MAX_REQUEUES`` is failed.
    Each change is a conditional UPDATE, so two sweepers (or a sweeper and a worker) never both
    act on one job.
    """
    now = now or timezone.now()
    stale = Q(
        status__in=[Job.Status.RUNNING, Job.Status.RETRYING], heartbeat__lt=_stale_before(now)
    )
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
                _enqueue(job)
            outcome = "requeued"
        if won:
            logger.warning("Job %s (%s) lost its worker: %s", job.pk, job.kind, outcome)
            done[outcome].append(str(job.pk))
    return done


def _lost_too_often(job: Job, spec: JobType) -> bool:
    # Each claim is an attempt; a job may use its retries plus JOB_MAX_REQUEUES lost workers (a
    # job that kills its worker each time, e.g. out of memory, must not loop for ever).
    return job.attempts > spec.max_retries + settings.JOB_MAX_REQUEUES


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
    claimable = Q(status__in=[Job.Status.QUEUED, Job.Status.RETRYING]) | Q(
        status=Job.Status.RUNNING, heartbeat__lt=_stale_before(now)
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
