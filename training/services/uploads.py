"""Files a training job reads: saved chunk by chunk, discarded when no job keeps them."""

import uuid
from collections.abc import Callable
from pathlib import Path

from core.models import Job
from core.selectors import job_for_key
from training.services.common import training_dir


def save_upload(upload, *, stem: str) -> Path:
    """Write an uploaded file, chunk by chunk, to a new JSONL under ``uploads``; return where."""
    path = training_dir("uploads") / f"{stem}-{uuid.uuid4().hex[:8]}.jsonl"
    with path.open("wb") as destination:
        for chunk in upload.chunks():
            destination.write(chunk)
    return path


def upload_discard_unless_kept(path: Path, job) -> None:
    """Remove a file saved for a job that did not keep it: refused, or a repeated request whose
    first job holds another copy. Call it whatever the start did (``finally``)."""
    kept = job is not None and str(path) in {str(value) for value in job.params.values()}
    if not kept:
        path.unlink(missing_ok=True)


def job_start_with_file(
    *,
    write: Callable[[], Path | None],
    start: Callable[[Path | None], Job],
    idempotency_key: str | None = None,
) -> Job:
    """Write the file a job will read (``write``; None: no file), start the job on it, return it.

    With an ``idempotency_key``, a repeated submit gets its first job before anything is
    written. The file is removed unless the job keeps it: a refused start (its ValidationError
    is raised again) or a concurrent submit with the same key that won the race leaves none.
    """
    if idempotency_key and (started := job_for_key(idempotency_key)) is not None:
        return started
    path, job = write(), None
    try:
        job = start(path)
    finally:
        if path is not None:
            upload_discard_unless_kept(path, job)
    return job
