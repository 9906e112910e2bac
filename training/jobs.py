"""Training job types; they run on the ``training`` Celery queue so they never block others.

torch, transformers and TRL are imported inside the services these call, never at import
time: a forked worker child hangs on its first torch operation if the parent ran one.
"""

from pathlib import Path

from django.core.exceptions import ValidationError

from annotation.models import Project
from core.jobs import JobFailed, JobProgress, job_type
from core.models import Job
from training.models import ModelArtifact
from training.services import (
    ALIGN_POLICY,
    EXPORT_DPO,
    SCORE_PROJECT,
    TRAIN_EVALUATOR,
    alignment_run,
    dpo_export,
    error_text,
    evaluator_train,
    project_score,
    project_training_file,
    run_log_append,
)
from training.services.policy_alignment import RUN_SETTINGS


def _already_done(job: Job) -> ModelArtifact | None:
    # The broker may deliver a job twice: a run that registered its model already is done.
    return ModelArtifact.objects.filter(job=job).first()


@job_type(
    TRAIN_EVALUATOR,
    title="Train a value evaluator",
    queue="training",
    needs_own_process=True,
    when_worker_lost="fail",
    max_retries=0,
)
def run_train_evaluator(job: Job, progress: JobProgress) -> dict:
    """Train and register an evaluator from the job's params; fail naming what was wrong."""
    params = job.params
    artifact = _already_done(job)
    written = None
    if artifact is None:
        if params.get("project"):
            written = _write_project_file(job)

        def report(step: int, total: int, message: str, metrics: dict) -> None:
            loss = metrics.get("loss")
            suffix = f", loss {loss:.4f}" if loss is not None else ""
            progress.update(done=step, total=total, message=f"Training: {message}{suffix}")
            if loss is not None:
                run_log_append(job=job, metrics={"step": step, "loss": round(loss, 5)})

        try:
            artifact = evaluator_train(
                data=params["data"],
                base_model=params["base_model"],
                out=params["out"],
                scheme=params.get("scheme", "schwartz10"),
                epochs=params.get("epochs"),
                batch_size=params.get("batch_size", 16),
                max_length=params.get("max_length", 256),
                max_steps=params.get("max_steps"),
                design=params.get("design", "one-pass"),
                skip_invalid=params.get("skip_invalid", False),
                job=job,
                progress=report,
            )
        except ValidationError as error:
            raise JobFailed(error_text(error)) from None
        dataset = artifact.card["dataset"]
        for error in dataset.get("skipped_lines", []):
            run_log_append(job=job, line=f"Skipped {error}")
        sources = ", ".join(f"{n} {source}" for source, n in dataset.get("sources", {}).items())
        run_log_append(
            job=job,
            line=f"Trained on {sum(dataset.get('sources', {}).values())} examples "
            f"({sources} labels); {len(dataset.get('skipped_lines', []))} bad lines skipped, "
            f"{dataset.get('unlabelled', 0)} unlabelled items left out.",
        )
    return {
        "artifact": artifact.pk,
        "path": artifact.path,
        "test": artifact.card["metrics"]["test"]["overall"],
    } | ({"data": written} if written else {})


def _write_project_file(job: Job) -> dict:
    """Write the job's project as training JSONL at the job's own data path; return the counts."""
    project = Project.objects.select_related("scheme").filter(pk=job.params["project"]).first()
    if project is None:
        raise JobFailed("The annotation project no longer exists.")
    counts = project_training_file(project=project, path=Path(job.params["data"]))
    run_log_append(
        job=job,
        line=f"Wrote {counts['items']} items of {project.slug} "
        f"({counts['unlabelled']} without labels left out).",
    )
    return counts


@job_type(
    ALIGN_POLICY,
    title="Align a policy to a target (BaseAlign)",
    queue="training",
    needs_own_process=True,
    when_worker_lost="fail",
    max_retries=0,
)
def run_align_policy(job: Job, progress: JobProgress) -> dict:
    """Align the policy with GRPO against the BaseAlign reward; register it with its report."""
    params = job.params
    artifact = _already_done(job)
    if artifact is None:

        def report(step: int, total: int, message: str, metrics: dict) -> None:
            reward = metrics.get("reward")
            suffix = f", reward {reward:.4f}" if reward is not None else ""
            progress.update(done=step, total=total, message=f"Aligning: {message}{suffix}")
            if reward is not None:
                run_log_append(
                    job=job,
                    metrics={"step": step} | {k: round(v, 5) for k, v in metrics.items()},
                )
            else:
                run_log_append(job=job, line=f"step {step}/{total}: {message}")

        try:
            artifact = alignment_run(
                evaluator_dir=params["evaluator"],
                policy=params["policy"],
                prompts_file=params["prompts"],
                target=params["target"],
                out=params["out"],
                job=job,
                progress=report,
                **{k: v for k, v in params.items() if k in RUN_SETTINGS},
            )
        except ValidationError as error:
            raise JobFailed(error_text(error)) from None
    report_card = artifact.card["report"]
    return {
        "artifact": artifact.pk,
        "path": artifact.path,
        "distance_before": report_card["before"]["mean_distance"],
        "distance_after": report_card["after"]["mean_distance"],
        "change": report_card.get("change"),
    }


@job_type(
    SCORE_PROJECT,
    title="Pre-label a project with an evaluator",
    queue="training",
    needs_own_process=True,
)
def run_score_project(job: Job, progress: JobProgress) -> dict:
    """Score every item of the project that has no pre-label yet; safe to run twice."""
    params = job.params
    artifact = ModelArtifact.objects.filter(pk=params["artifact"]).first()
    project = Project.objects.select_related("scheme").filter(pk=params["project"]).first()
    if artifact is None or project is None:
        raise JobFailed("The evaluator or the project no longer exists.")

    def report(done: int, total: int, message: str, metrics: dict) -> None:
        progress.update(done=done, total=total, message=f"Scoring {done} of {total} items")

    try:
        return project_score(
            artifact=artifact,
            project=project,
            replace=params.get("replace", False),
            batch_size=params.get("batch_size", 32),
            progress=report,
        )
    except ValidationError as error:
        raise JobFailed(error_text(error)) from None


@job_type(
    EXPORT_DPO,
    title="Export DPO pairs from the moral graph",
    queue="training",
    needs_own_process=True,
    when_worker_lost="fail",
    max_retries=0,
)
def run_export_dpo(job: Job, progress: JobProgress) -> dict:
    """Generate card-guided answers and write the DPO file; the same code as ``export_dpo``."""
    params = job.params

    def report(done: int, total: int, message: str, metrics: dict) -> None:
        progress.update(done=done, total=total, message=f"Answering pair {done} of {total}")

    try:
        return dpo_export(
            policy=params["policy"],
            out=params["out"],
            deliberation=params.get("deliberation"),
            rule=params.get("rule"),
            preferences_file=params.get("preferences_file"),
            format=params.get("format", "conversational"),
            max_new_tokens=params.get("max_new_tokens", 128),
            progress=report,
        )
    except ValidationError as error:
        raise JobFailed(error_text(error)) from None
