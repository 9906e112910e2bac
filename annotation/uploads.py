"""Uploaded files of items: saved to disk, imported by a job, swept once no job needs them.

Importing a file runs as a job, so a 100k-line file never ties up a request.

The page streams the upload to a file of its own under ``VAR_DIR/uploads/annotation-import/``
(chunk by chunk, never whole in memory) and starts an ``annotation.import_items`` job with the
form's one-time token as idempotency key, so a double submit starts one job. The job runs
``item_import`` on that file, reporting bytes read of the file's size after every batch, and
ends with the same report as the command and the API: stored, already there, skipped, and the
bad lines. An all-or-nothing import with bad lines fails the job with the report as its result
and stores nothing. The file is deleted once the import has an outcome (a crash keeps it, so
"retry" on the job page can run it again, and a killed worker's redelivered task finds it).

Files no job will read again are swept by ``import_files_cleanup`` at the start of every import
job (and by the ``import_files_cleanup`` command): those older than a day whose job finished,
failed, was cancelled, went silent, or never existed (a request killed while saving).
"""

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.utils import timezone

from annotation.models import Project
from annotation.services import ItemImportRejected, item_import
from core.jobs import JobFailed, JobProgress, job_key, job_start
from core.models import Job, User
from core.selectors import job_for_key

logger = logging.getLogger(__name__)

KIND = "annotation.import_items"
UPLOAD_SUBDIR = "annotation-import"
UPLOAD_SUFFIX = ".upload"
# How long a file outlives its job: long enough to press "retry" on a failed import.
CLEANUP_AGE = timedelta(days=1)


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "uploads" / UPLOAD_SUBDIR


def upload_save(upload: UploadedFile) -> Path:
    """Write ``upload`` to a new file of its own, in chunks; return its path."""
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}{UPLOAD_SUFFIX}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def upload_imports_inline(upload: UploadedFile) -> bool:
    """Return whether the API imports ``upload`` within the request: a file up to
    ``VALUELAB_IMPORT_INLINE_MB``; a larger one is imported by a job (``import_job_start``)."""
    return upload.size <= settings.VALUELAB_IMPORT_INLINE_MB * 1024 * 1024


def import_job_start(
    *, project: Project, upload: UploadedFile, skip_invalid: bool, created_by: User, token: str = ""
) -> Job:
    """Save ``upload`` and start a job importing it; a repeated ``token`` gives the first job."""
    key = job_key(KIND, project.pk, token=token)
    if key:
        existing = job_for_key(key)
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
        created_by=created_by,
        study=project.study,
        idempotency_key=key,
    )
    if job.params.get("path") != path.name:  # lost a race with the same token: keep one file
        path.unlink(missing_ok=True)
    return job


def import_files_cleanup(
    *, max_age: timedelta = CLEANUP_AGE, now: datetime | None = None
) -> list[str]:
    """Delete the uploads older than ``max_age`` that no import job will read; return their names.

    A file is still needed while its job is queued or waiting to retry, or running with a
    heartbeat younger than ``max_age`` (a killed worker's task is delivered again and its job
    claimed again). A failed or cancelled job's file is kept ``max_age``, so it can be retried.
    """
    directory = upload_dir()
    if not directory.is_dir():
        return []
    cutoff = (now or timezone.now()) - max_age
    old: dict[str, Path] = {}
    for path in directory.glob(f"*{UPLOAD_SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff.timestamp():
                old[path.name] = path
        except FileNotFoundError:  # deleted meanwhile by its job
            continue
    if not old:
        return []
    alive = Q(status__in=[Job.Status.QUEUED, Job.Status.RETRYING]) | Q(
        Q(heartbeat__isnull=True) | Q(heartbeat__gte=cutoff), status=Job.Status.RUNNING
    )
    needed = {
        Path(str(params.get("path", ""))).name
        for params in Job.objects.filter(alive, kind=KIND).values_list("params", flat=True)
    }
    deleted = []
    for name in sorted(old.keys() - needed):
        old[name].unlink(missing_ok=True)
        deleted.append(name)
    return deleted


def upload_import(*, project: Project, params: dict, progress: JobProgress) -> dict:
    """Import the upload named in an import job's ``params`` into ``project``; return the report.

    Delete the file once the import has an outcome; fail the job (``JobFailed``) when the file
    is gone or an all-or-nothing import met bad lines.
    """
    _cleanup_quietly()
    path = upload_dir() / Path(params["path"]).name  # only a name is stored; never a path
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise JobFailed(
            "The uploaded file is gone (uploads are deleted a day after their import ended); "
            "upload it again."
        ) from None
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


def _cleanup_quietly() -> None:
    # Sweeping is housekeeping: it must never fail the import that triggered it.
    try:
        deleted = import_files_cleanup()
    except Exception:
        logger.exception("Cleaning up old import files failed")
        return
    if deleted:
        logger.info("Deleted %d import file(s) no job needs any more", len(deleted))


def _rejection_message(rejected: ItemImportRejected) -> str:
    invalid = rejected.report.invalid
    if invalid:
        return f"Nothing was stored: {invalid:,} bad line{'s' if invalid != 1 else ''}."
    return f"Nothing was stored: {'; '.join(rejected.report.errors)}"
