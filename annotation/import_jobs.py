"""The import of an uploaded file of items as a job, so a 100k-line file never ties up a request.

The page streams the upload to a file of its own under ``VAR_DIR/uploads/annotation-import/``
(chunk by chunk, never whole in memory) and starts an ``annotation.import_items`` job with the
form's one-time token as idempotency key, so a double submit starts one job. The job runs
``item_import`` on that file, reporting bytes read of the file's size after every batch, and
ends with the same report as the command and the API: stored, already there, skipped, and the
bad lines. An all-or-nothing import with bad lines fails the job with the report as its result
and stores nothing. The file is deleted once the import has an outcome (a crash keeps it, so
"retry" on the job page can run it again).
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from annotation.models import Project
from annotation.services import ItemImportRejected, item_import
from core.jobs import JobFailed, JobProgress, job_start, job_type
from core.models import Job, User

KIND = "annotation.import_items"
UPLOAD_SUBDIR = "annotation-import"


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "uploads" / UPLOAD_SUBDIR


def upload_save(upload: UploadedFile) -> Path:
    """Write ``upload`` to a new file of its own, in chunks; return its path."""
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.upload"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def import_job_start(
    *, project: Project, upload: UploadedFile, skip_invalid: bool, user: User, token: str = ""
) -> Job:
    """Save ``upload`` and start a job importing it; a repeated ``token`` gives the first job."""
    key = f"{KIND}:{project.pk}:{token}" if token else None
    if key:
        existing = Job.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing  # the same form sent twice: its file is already being imported
    path = upload_save(upload)
    job = job_start(
        kind=KIND,
        params={
            "project_id": project.pk,
            "path": path.name,
            "filename": (upload.name or "")[:200],
            "skip_invalid": skip_invalid,
        },
        created_by=user,
        study=project.study,
        idempotency_key=key,
    )
    if job.params.get("path") != path.name:  # lost a race with the same token: keep one file
        path.unlink(missing_ok=True)
    return job


@job_type(KIND, title="Import items")
def import_items(job: Job, progress: JobProgress) -> dict:
    params = job.params
    project = Project.objects.select_related("scheme").get(pk=params["project_id"])
    path = upload_dir() / Path(params["path"]).name  # only a name is stored; never a path
    size = path.stat().st_size
    progress.update(done=0, total=size, message=f"Reading {params.get('filename') or 'the file'}")
    with path.open("rb") as stream:

        def report_progress(lines: int) -> None:
            progress.update(done=stream.tell(), message=f"{lines:,} lines read")

        try:
            report = item_import(
                project=project,
                stream=stream,
                filename=params.get("filename", ""),
                skip_invalid=params.get("skip_invalid", False),
                progress=report_progress,
            )
        except ItemImportRejected as rejected:
            path.unlink(missing_ok=True)
            raise JobFailed(
                _rejection_message(rejected), result=rejected.report.as_dict() | {"rejected": True}
            ) from None
    path.unlink(missing_ok=True)
    progress.update(done=size, message="Imported.")
    return report.as_dict() | {"rejected": False}


def _rejection_message(rejected: ItemImportRejected) -> str:
    invalid = rejected.report.invalid
    if invalid:
        return f"Nothing was stored: {invalid:,} bad line{'s' if invalid != 1 else ''}."
    return f"Nothing was stored: {'; '.join(rejected.report.errors)}"
