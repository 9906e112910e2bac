"""Job types of annotation: importing an uploaded file of items, and pre-labelling with the LLM."""

from annotation import prelabel, uploads
from annotation.models import Project
from core.jobs import JobProgress, job_type
from core.models import Job


@job_type(uploads.KIND, title="Import items")
def import_items(job: Job, progress: JobProgress) -> dict:
    """Import the uploaded file named in the job's params into its project."""
    project = Project.objects.select_related("scheme").get(pk=job.params["project_id"])
    return uploads.upload_import(project=project, params=job.params, progress=progress)


@job_type(
    prelabel.KIND,
    retry_on=prelabel.OUTAGE,
    max_retries=8,
    title="Pre-label items with the LLM",
)
def prelabel_project(job: Job, progress: JobProgress) -> dict:
    """Pre-label the project's items (or only its failed ones); return the counts."""
    project = Project.objects.select_related("scheme", "study").get(pk=job.params["project_id"])
    only_failed = bool(job.params.get("only_failed"))
    return prelabel.prelabel_run(project=project, only_failed=only_failed, progress=progress)
