"""Evaluation job types: a run (generate → score → profile) with progress and cancel.

Scoring loads an evaluator with torch, so runs go to the ``training`` queue (a prefork worker
of its own), like training's jobs.
"""

from django.core.exceptions import ValidationError

from core.jobs import JobCancelled, JobFailed, JobProgress, job_type
from core.models import Job
from evaluation.models import Run
from evaluation.services import RUN_JOB, RunPaused, run_execute, run_mark_stopped


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
