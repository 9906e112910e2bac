"""LLM pre-labels: the run that labels a project (the prompt and answer schema it sends are in
``annotation.prelabel_prompt``).

The job asks the LLM (through ``core.llm.structured``) for a label in {-1, 0, 1} and a
one-sentence rationale per dimension of the project's scheme, for every item that has no
pre-label yet. Several requests are in flight at once (``ANNOTATION_PRELABEL_CONCURRENCY``
threads, default VALUELAB_LLM_CONCURRENCY; the gateway's slots bound them per endpoint, and the
wait for a slot is not part of a request's timeout); the gateway retries 429s and 5xx with
back-off. An item the model cannot label (an answer that never validates, an empty answer, a
request the endpoint refuses: a parameter, the context, the model) gets its error recorded on
``Item.prelabel_error`` and the job goes on; "retry failed" runs only those items again. An
outage (``LLMUnavailable``, ``LLMBudgetExceeded``) stops handing out requests, keeps what was
labelled and makes the job retry later with back-off; annotators label without pre-labels
meanwhile. Prelabel is one-to-one with its item, so a re-run never makes a second one.
"""

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import F

from annotation.models import Item, Prelabel, Project
from annotation.prelabel_prompt import (
    PROMPT_VERSION,
    answer_labels,
    answer_schema,
    prelabel_messages,
    summary_rationale,
)
from annotation.selectors.prelabels import (
    ACTIVE,
    KIND,
    items_pending_prelabel,
    prelabel_jobs,
    prelabel_status,
)
from core import llm
from core.jobs import JobProgress, job_abandon_if_stale, job_start
from core.models import Job, User

PURPOSE = "annotation.prelabel"
DEFAULT_CONCURRENCY = 8
LOAD_CHUNK = 500
PROGRESS_EVERY_SECONDS = 1.0
SAVE_EVERY = 100
OUTAGE = (llm.LLMUnavailable, llm.LLMBudgetExceeded)

# --- service -------------------------------------------------------------------------------


def prelabel_start(*, project: Project, created_by: User | None, only_failed: bool = False) -> Job:
    """Start pre-labelling ``project`` and return the job; return the running one if there is.

    A double click, or a second researcher pressing the button, gets the job already queued or
    running for the project instead of a second job paying for the same calls.
    """
    with transaction.atomic():
        # The row lock orders two concurrent starts, so only one of them creates a job.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        running = prelabel_jobs(project=project).filter(status__in=ACTIVE).first()
        stale = running is not None and job_abandon_if_stale(
            job=running, reason="a new pre-label request started another job."
        )
        if running is not None and not stale:
            return running
        if not Item.objects.filter(project=project).exists():
            raise ValidationError({"project": "The project has no items to pre-label yet."})
        return job_start(
            kind=KIND,
            params={"project_id": project.pk, "only_failed": only_failed},
            created_by=created_by if getattr(created_by, "pk", None) else None,
            study=project.study,
        )


# --- the job -------------------------------------------------------------------------------


@dataclass
class _Outcome:
    item_id: int
    labels: dict | None = None
    rationales: dict | None = None
    error: str = ""


def _concurrency() -> int:
    """Return the job's threads: its own setting, else as many as the endpoint has slots."""
    configured = getattr(settings, "ANNOTATION_PRELABEL_CONCURRENCY", None)
    if configured is None:
        configured = getattr(settings, "VALUELAB_LLM_CONCURRENCY", DEFAULT_CONCURRENCY)
    return max(1, int(configured))


def _model_name() -> str:
    # The name the gateway sends; the gateway does not hand back the answering model's name.
    from core.llm.gateway import get_backend

    return get_backend().chat_model(None)


def _ask(item: dict, *, dimensions, scheme_name: str, study) -> _Outcome:
    """Return one item's labels, or its error; outages are raised for the job to handle."""
    keys = tuple(dimension.key for dimension in dimensions)
    try:
        answer = llm.structured(
            prelabel_messages(item=item, dimensions=dimensions, scheme_name=scheme_name),
            schema=answer_schema(keys),
            purpose=PURPOSE,
            study=study,
            ask=llm.Generation(temperature=0.0),
        )
    except OUTAGE:
        raise
    except llm.LLMError as error:
        return _Outcome(item["pk"], error=f"{type(error).__name__}: {error.message}"[:2000])
    labels, rationales = answer_labels(answer, keys)
    return _Outcome(item["pk"], labels=labels, rationales=rationales)


def _save(outcomes: list[_Outcome], *, model: str) -> None:
    """Store labelled items' pre-labels and failed items' errors, each counted as an attempt."""
    if not outcomes:
        return
    done = [outcome for outcome in outcomes if outcome.labels is not None]
    with transaction.atomic():
        # One-to-one with the item: a pre-label stored by an earlier run stays as it was.
        Prelabel.objects.bulk_create(
            [
                Prelabel(
                    item_id=outcome.item_id,
                    labels=outcome.labels,
                    rationales=outcome.rationales,
                    rationale=summary_rationale(outcome.labels, outcome.rationales),
                    labeller="llm",
                    model=model,
                    prompt_version=PROMPT_VERSION,
                )
                for outcome in done
            ],
            ignore_conflicts=True,
        )
        Item.objects.filter(pk__in=[outcome.item_id for outcome in done]).update(
            prelabel_error="", prelabel_attempts=F("prelabel_attempts") + 1
        )
        for outcome in outcomes:
            if outcome.labels is None:
                Item.objects.filter(pk=outcome.item_id).update(
                    prelabel_error=outcome.error, prelabel_attempts=F("prelabel_attempts") + 1
                )


def _items(ids: list[int]):
    """Yield the items' texts as dicts, loading ``LOAD_CHUNK`` at a time."""
    for start in range(0, len(ids), LOAD_CHUNK):
        chunk = ids[start : start + LOAD_CHUNK]
        yield from (
            Item.objects.filter(pk__in=chunk).order_by("pk").values("pk", "prompt", "response")
        )


class _Run:
    """What one attempt of the job has labelled so far, stored in batches from the job's thread."""

    def __init__(self, *, progress: JobProgress, model: str, done: int):
        self.progress = progress
        self.model = model
        self.done = done
        self.counts = {"labelled": 0, "failed": 0}
        self.buffer: list[_Outcome] = []
        self.last_report = time.monotonic()

    def record(self, outcome: _Outcome) -> None:
        self.buffer.append(outcome)
        self.counts["labelled" if outcome.labels is not None else "failed"] += 1
        self.done += 1

    def store(self) -> None:
        _save(self.buffer, model=self.model)
        self.buffer = []

    def report(self, *, force: bool = False) -> None:
        """Store the batch and show progress (at most once a second unless forced).

        Also the cancel check: a cancelled job raises ``JobCancelled`` here.
        """
        if len(self.buffer) >= SAVE_EVERY:
            self.store()
        if force or time.monotonic() - self.last_report >= PROGRESS_EVERY_SECONDS:
            self.store()
            self.last_report = time.monotonic()
            labelled, failed = self.counts["labelled"], self.counts["failed"]
            self.progress.update(
                done=self.done, message=f"{labelled} labelled, {failed} failed in this run"
            )


def prelabel_run(*, project: Project, only_failed: bool, progress: JobProgress) -> dict:
    """Pre-label the project's items (or only its failed ones); return the counts."""
    dimensions = list(project.scheme.dimensions.order_by("position", "pk"))
    pending = items_pending_prelabel(project=project, only_failed=only_failed)
    if only_failed:
        done, total = 0, len(pending)
    else:
        status = prelabel_status(project=project)
        total = status["items"]
        done = status["labelled"] + status["failed"]
    progress.update(done=done, total=total, message=f"Pre-labelling {len(pending)} items")
    run = _Run(progress=progress, model=_model_name(), done=done)
    ask = {"dimensions": dimensions, "scheme_name": project.scheme.name, "study": project.study}
    concurrency = _concurrency()
    try:
        if concurrency == 1:
            for item in _items(pending):
                run.record(_ask(item, **ask))
                run.report()
        else:
            _run_threaded(pending, ask=ask, concurrency=concurrency, run=run)
    finally:
        # Whatever stops the run (an outage, a cancel), what was labelled is kept.
        run.store()
    run.report(force=True)
    return {**run.counts, "model": run.model, "prompt_version": PROMPT_VERSION}


def _run_threaded(pending: list[int], *, ask: dict, concurrency: int, run: _Run) -> None:
    """Keep ``concurrency`` requests in flight; store results from this thread as they come.

    Only this thread writes pre-labels. The first outage stops new requests; the ones in flight
    finish, their results are kept, and the outage is raised so the job retries later.
    """
    outage: BaseException | None = None
    in_flight: set[Future] = set()
    items = _items(pending)
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="prelabel")
    try:
        exhausted = False
        while True:
            while not exhausted and outage is None and len(in_flight) < concurrency * 2:
                item = next(items, None)
                if item is None:
                    exhausted = True
                    break
                in_flight.add(executor.submit(_ask, item, **ask))
            if not in_flight:
                break
            finished, in_flight = wait(in_flight, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    run.record(future.result())
                except OUTAGE as error:
                    outage = outage or error
            run.report()
    finally:
        # On a cancel, queued requests are dropped and the ones already sent are awaited.
        for future in in_flight:
            future.cancel()
        _close_thread_connections(executor, concurrency)
        executor.shutdown(wait=True, cancel_futures=True)
        for future in in_flight:
            if not future.cancelled() and future.exception() is None:
                run.record(future.result())
    if outage is not None:
        raise outage


def _close_thread_connections(executor: ThreadPoolExecutor, threads: int) -> None:
    """Close the database connections the gateway opened on each of the pool's threads.

    Each thread keeps its connection for all its calls (opening one per call cost a tenth of
    the throughput on PostgreSQL). One closing task per thread: the barrier holds every task
    until all ``threads`` run at once, so each lands on a different thread.
    """
    barrier = threading.Barrier(threads)

    def close() -> None:
        try:
            barrier.wait(timeout=60)
        finally:
            connections.close_all()

    for future in [executor.submit(close) for _ in range(threads)]:
        future.exception()
