"""Job types of elicitation: de-duplicating values cards, grading interviews, proposing contexts.

Each job takes the ids in its params, loads them and calls the module that does the work. The
LLM being down is transient: these jobs wait and try again.
"""

from core import llm
from core.jobs import JobFailed, JobProgress, job_type
from core.models import Job
from elicitation.contexts import CONTEXTS_JOB, contexts_propose
from elicitation.dedup import DEDUP_JOB, dedup_run
from elicitation.grading import GRADE_JOB, grading_run
from elicitation.models import Deliberation, Scenario


def _deliberation(job: Job) -> Deliberation:
    deliberation = Deliberation.objects.filter(pk=job.params["deliberation"]).first()
    if deliberation is None:
        raise JobFailed("The deliberation no longer exists.")
    return deliberation


@job_type(DEDUP_JOB, title="De-duplicate values cards", retry_on=(llm.LLMUnavailable,))
def dedup_job(job: Job, progress: JobProgress) -> dict:
    """Run de-duplication for the deliberation in ``job.params``."""
    return dedup_run(
        deliberation=_deliberation(job),
        threshold=job.params.get("threshold"),
        job=job,
        progress=progress,
    )


@job_type(GRADE_JOB, title="Grade finished interviews", retry_on=(llm.LLMUnavailable,))
def grade_job(job: Job, progress: JobProgress) -> dict:
    """Grade the chats not yet graded (of one deliberation, when ``job.params`` names one)."""
    deliberation = _deliberation(job) if job.params.get("deliberation") else None
    return grading_run(deliberation=deliberation, progress=progress)


@job_type(CONTEXTS_JOB, title="Propose moral contexts", retry_on=(llm.LLMUnavailable,))
def contexts_job(job: Job, progress: JobProgress) -> dict:
    """Propose contexts for the scenario in ``job.params``."""
    scenario = Scenario.objects.select_related("deliberation").filter(pk=job.params["scenario"])
    scenario = scenario.first()
    if scenario is None:
        raise JobFailed("The scenario no longer exists.")
    progress.update(message="Asking the LLM for contexts", total=1)
    return contexts_propose(scenario=scenario, user=job.created_by)
