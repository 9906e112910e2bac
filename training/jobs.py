"""Training job types; they run on the ``training`` Celery queue so they never block others."""

from django.core.exceptions import ValidationError

from core.jobs import JobFailed, JobProgress, job_type
from core.models import Job
from training.services import evaluator_train

TRAIN_EVALUATOR = "training.train_evaluator"


@job_type(TRAIN_EVALUATOR, title="Train a value evaluator", queue="training", max_retries=0)
def run_train_evaluator(job: Job, progress: JobProgress) -> dict:
    """Train and register an evaluator from the job's params; fail naming what was wrong."""
    params = job.params

    def report(step: int, total: int, message: str, metrics: dict) -> None:
        loss = metrics.get("loss")
        suffix = f", loss {loss:.4f}" if loss is not None else ""
        progress.update(done=step, total=total, message=f"Training: {message}{suffix}")

    try:
        artifact = evaluator_train(
            data=params["data"],
            base_model=params["base_model"],
            out=params["out"],
            scheme=params.get("scheme", "schwartz10"),
            epochs=params.get("epochs", 4),
            batch_size=params.get("batch_size", 16),
            max_length=params.get("max_length", 256),
            max_steps=params.get("max_steps"),
            job=job,
            progress=report,
        )
    except ValidationError as error:
        raise JobFailed(" ".join(error.messages)) from None
    return {
        "artifact": artifact.pk,
        "path": artifact.path,
        "test": artifact.card["metrics"]["test"]["overall"],
    }
