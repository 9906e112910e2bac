"""Scoring an annotation project with an evaluator: its pre-labels, written through annotation."""

from django.core.exceptions import ValidationError
from django.db.models import Q

from annotation.models import Item
from annotation.services import prelabels_store
from core.jobs import job_start
from core.models import Job, User
from training.models import ModelArtifact
from training.selectors import evaluator_loaded
from training.services.common import ProgressCallback

SCORE_PROJECT = "training.score_project"


EVALUATOR_PROMPT_VERSION = "evaluator/1"


def evaluator_labeller(artifact: ModelArtifact) -> str:
    """Return the Prelabel.labeller of ``artifact``'s labels: "evaluator:<artifact name>"."""
    return f"evaluator:{artifact.name}"[:100]


def project_score_check(*, artifact: ModelArtifact, project) -> list[str]:
    """Return the project's dimension keys; refuse a project the evaluator cannot label."""
    if artifact.kind != ModelArtifact.Kind.EVALUATOR:
        raise ValidationError({"evaluator": "Choose an evaluator, not a policy."})
    keys = project.scheme.dimension_keys()
    known = set(artifact.card.get("dimensions", []))
    missing = [key for key in keys if key not in known]
    if missing:
        raise ValidationError(
            {
                "evaluator": f"{artifact.name} does not score {', '.join(missing)} "
                f"(dimensions of {project.scheme.key})"
            }
        )
    return keys


def project_items_to_score(*, project, replace: bool = False):
    """Return the project's items that need an evaluator pre-label, in id order.

    Items with a pre-label are left alone, except that ``replace`` re-scores those an
    evaluator labelled (an LLM's pre-label is never overwritten).
    """
    keep = Q(prelabel__isnull=True)
    if replace:
        keep |= Q(prelabel__labeller__startswith="evaluator:")
    return Item.objects.filter(keep, project=project).order_by("pk")


def project_score(
    *,
    artifact: ModelArtifact,
    project,
    replace: bool = False,
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
) -> dict:
    """Pre-label the project's items with the evaluator, batch by batch; return the counts.

    Each batch is written in one transaction, so a stopped job keeps whole batches and a
    second run picks up where it stopped; no item ever gets two pre-labels.
    """
    keys = project_score_check(artifact=artifact, project=project)
    pending = list(
        project_items_to_score(project=project, replace=replace).values_list("pk", flat=True)
    )
    loaded = evaluator_loaded(artifact)
    labeller = evaluator_labeller(artifact)
    written = 0
    for start in range(0, len(pending), batch_size):
        ids = pending[start : start + batch_size]
        items = list(
            Item.objects.filter(pk__in=ids).order_by("pk").values("pk", "prompt", "response")
        )
        scores = loaded.score([(i["prompt"], i["response"]) for i in items], batch_size=batch_size)
        written += prelabels_store(
            labels_by_item={
                item["pk"]: {key: score["labels"][key] for key in keys}
                for item, score in zip(items, scores, strict=True)
            },
            labeller=labeller,
            model=artifact.name[:200],
            prompt_version=EVALUATOR_PROMPT_VERSION,
            replace_prefix="evaluator:" if replace else None,
        )
        if progress:
            progress(min(start + batch_size, len(pending)), len(pending), "scoring", {})
    return {"scored": len(pending), "skipped": project.items.count() - len(pending)}


def project_score_start(
    *,
    created_by: User | None,
    artifact: ModelArtifact,
    project,
    replace: bool = False,
    batch_size: int = 32,
    idempotency_key: str | None = None,
) -> Job:
    """Check the evaluator can label the project, then start the scoring job."""
    project_score_check(artifact=artifact, project=project)
    return job_start(
        kind=SCORE_PROJECT,
        created_by=created_by,
        idempotency_key=idempotency_key,
        params={
            "artifact": artifact.pk,
            "project": project.pk,
            "replace": replace,
            "batch_size": batch_size,
        },
    )
