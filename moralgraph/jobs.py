"""Job types of the moral graph: writing upgrade stories, and recomputing scores after votes."""

from core import llm
from core.jobs import JobFailed, JobProgress, job_type
from core.models import Job
from elicitation.models import Deliberation
from moralgraph.snapshots import RECOMPUTE_JOB, recompute_claim, snapshots_recompute
from moralgraph.stories import stories_generate

GENERATE_STORIES_JOB = "moralgraph.generate_stories"


def _deliberation(job: Job) -> Deliberation:
    deliberation = Deliberation.objects.filter(pk=job.params.get("deliberation")).first()
    if deliberation is None:
        raise JobFailed(f"No deliberation with id {job.params.get('deliberation')!r}.")
    return deliberation


# The LLM being down is transient: the job waits and tries again, keeping the stories it wrote.
@job_type(
    GENERATE_STORIES_JOB,
    title="Write upgrade stories",
    retry_on=(llm.LLMUnavailable,),
    max_retries=8,
)
def run_generate_stories(job: Job, progress: JobProgress) -> dict:
    """Write the stories of the deliberation's candidate pairs (both directions of each)."""
    deliberation = _deliberation(job)
    progress.update(message="Picking candidate pairs (embedding the values)")

    def report(done: int, total: int, message: str) -> None:
        progress.update(done=done, total=total, message=message)

    result = stories_generate(
        deliberation=deliberation,
        run_id=str(job.pk),
        context_ids=job.params.get("contexts") or None,
        per_card=job.params.get("pairs_per_card"),
        regenerate=bool(job.params.get("regenerate")),
        user=job.created_by,
        report=report,
    )
    return {**result, "run_id": str(job.pk)}


@job_type(RECOMPUTE_JOB, title="Recompute moral graph scores", max_retries=0)
def run_recompute(job: Job, progress: JobProgress) -> dict:
    """Recompute the deliberation's stale context snapshots."""
    deliberation = _deliberation(job)
    recompute_claim(deliberation=deliberation)
    progress.update(message="Recomputing edges and scores")
    # No transaction around it: each snapshot is written by its own UPDATE, and a long write
    # lock would hold up the votes arriving meanwhile.
    return snapshots_recompute(deliberation=deliberation, force=bool(job.params.get("force")))
