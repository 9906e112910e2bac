"""Evaluation job types: a run (generate → score → profile) with progress and cancel.

Scoring loads an evaluator with torch, so runs go to the ``training`` queue (a prefork worker
of its own), like training's jobs.
"""

from django.core.exceptions import ValidationError

from core.jobs import JobCancelled, JobFailed, JobProgress, job_type
from core.models import Job
from evaluation.models import ItemPool, Run, Subject
from evaluation.services.evolving import EVOLVE_JOB
from evaluation.services.runs import RUN_JOB, RunPaused, run_execute, run_mark_stopped


@job_type(RUN_JOB, title="Profile a model", queue="training", needs_own_process=True, max_retries=0)
def run_profile(job: Job, progress: JobProgress) -> dict:
    """Run the job's run to its profile; a pause or failure keeps what was done."""
    run = Run.objects.select_related("subject", "pool").filter(pk=job.params["run"]).first()
    if run is None:
        raise JobFailed("The run no longer exists.")
    try:
        profile = run_execute(
            run=run,
            progress=lambda done, total, message: progress.update(
                done=done, total=total, message=message
            ),
        )
    except JobCancelled:
        run_mark_stopped(
            run=run,
            status=Run.Status.CANCELLED,
            message="Cancelled; the answers so far are kept. Start it again to continue.",
        )
        raise
    except RunPaused as pause:
        raise JobFailed(str(pause)) from None
    except ValidationError as error:
        raise JobFailed(" ".join(error.messages)) from None
    except Exception as error:
        run_mark_stopped(run=run, status=Run.Status.FAILED, message=f"Failed: {error}")
        raise
    return {"run": run.pk, "n": profile["n"], "failed": profile["failed"]}


@job_type(
    EVOLVE_JOB,
    title="Evolve test items where subjects disagree",
    queue="training",
    needs_own_process=True,
    max_retries=0,
)
def run_evolve(job: Job, progress: JobProgress) -> dict:
    """Run the rounds of evolving items; store the kept items as a new pool."""
    from evaluation.evolve import evolve_items

    params = job.params
    existing = ItemPool.objects.filter(details__job=str(job.pk)).first()
    if existing is not None:  # delivered twice: the first delivery made the pool
        return {"pool": existing.pk, "items": existing.items.count()}
    pool = ItemPool.objects.filter(pk=params["pool"]).first()
    subjects = list(Subject.objects.filter(pk__in=params["subjects"]))
    if pool is None or len(subjects) != len(params["subjects"]):
        raise JobFailed("The pool or a subject no longer exists.")
    try:
        evolved = evolve_items(
            pool=pool,
            subjects=subjects,
            evaluator_path=params["evaluator"],
            value=params.get("value", ""),
            rounds=params.get("rounds", 3),
            keep_per_round=params.get("keep", 3),
            max_calls=params.get("max_calls", 200),
            created_by=job.created_by,
            progress=lambda done, total, message: progress.update(
                done=done, total=total, message=message
            ),
        )
    except RunPaused as pause:
        raise JobFailed(f"Stopped: {pause}") from None
    except ValidationError as error:
        raise JobFailed(" ".join(error.messages)) from None
    details = evolved.details | {"job": str(job.pk)}
    ItemPool.objects.filter(pk=evolved.pk).update(details=details)
    return {"pool": evolved.pk, "items": evolved.items.count(), "calls": details["calls"]}
