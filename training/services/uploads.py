"""Uploaded training files: saved chunk by chunk, discarded when no job keeps them."""

import uuid
from pathlib import Path

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
