"""Starting and cancelling the evolving-items job (the rounds themselves: ``evaluation.evolve``)."""

from pathlib import Path

from django.core.exceptions import ValidationError

from core.jobs import job_cancel, job_start
from core.models import Job, User
from evaluation.models import ItemPool, Subject
from evaluation.services.scoring import evaluator_card

EVOLVE_JOB = "evaluation.evolve"


def evolve_cancel(*, job: Job) -> Job:
    """Ask an evolve job to stop (it stops at its next answer or scored batch); no pool is made."""
    if job.kind != EVOLVE_JOB:
        raise ValidationError({"job": "This is not an evolve job."})
    return job_cancel(job=job)


def evolve_start(
    *,
    pool: ItemPool,
    subjects: list[Subject],
    evaluator_path: str,
    value: str = "",
    rounds: int = 3,
    keep: int = 3,
    max_calls: int = 200,
    created_by: User | None = None,
):
    """Check the request and start the evolving-items job; return the job."""
    if len(subjects) < 2:
        raise ValidationError({"subjects": "choose at least two subjects to compare"})
    card = evaluator_card(evaluator_path)
    if value and value not in card["dimensions"]:
        raise ValidationError({"value": f"{value!r} is not a value the evaluator scores"})
    if not 1 <= rounds <= 10:
        raise ValidationError({"rounds": "from 1 to 10"})
    if max_calls < len(subjects) + 1:
        raise ValidationError({"max_calls": f"at least {len(subjects) + 1} calls for one prompt"})
    return job_start(
        kind=EVOLVE_JOB,
        params={
            "pool": pool.pk,
            "subjects": [subject.pk for subject in subjects],
            "evaluator": str(Path(evaluator_path).resolve()),
            "value": value,
            "rounds": rounds,
            "keep": keep,
            "max_calls": max_calls,
        },
        created_by=created_by,
    )
