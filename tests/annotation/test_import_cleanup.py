"""Upload files of imports are deleted once no job will read them, even after a crash."""

import json
import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

import annotation.uploads as uploads
from annotation.uploads import (
    import_files_cleanup,
    import_job_start,
    upload_dir,
    upload_save,
)
from core.jobs import job_retry
from core.models import Job
from tests.annotation.factories import ProjectFactory

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def project():
    return ProjectFactory(slug="pilot")


def items(count: int = 2) -> SimpleUploadedFile:
    lines = "".join(
        json.dumps({"id": f"n{n}", "prompt": f"Question {n}?", "response": "Yes."}) + "\n"
        for n in range(count)
    )
    return SimpleUploadedFile("items.jsonl", lines.encode())


def age(path, seconds: float) -> None:
    """Make ``path`` look ``seconds`` old."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def job_with_file(project, rita, status: str, *, file_age: float = 2 * DAY, **fields) -> tuple:
    """Return an import job in ``status`` and its upload file, the file ``file_age`` old."""
    job = import_job_start(project=project, upload=items(), skip_invalid=False, created_by=rita)
    Job.objects.filter(pk=job.pk).update(status=status, **fields)
    path = upload_dir() / job.params["path"]
    age(path, file_age)
    return job, path


def test_old_files_of_ended_jobs_and_of_no_job_are_deleted(project, rita):
    _, succeeded = job_with_file(project, rita, Job.Status.SUCCEEDED)
    _, failed = job_with_file(project, rita, Job.Status.FAILED)
    _, cancelled = job_with_file(project, rita, Job.Status.CANCELLED)
    orphan = upload_save(items())  # a request killed after saving, before starting the job
    age(orphan, 2 * DAY)

    deleted = import_files_cleanup()

    assert sorted(deleted) == sorted(p.name for p in (succeeded, failed, cancelled, orphan))
    assert list(upload_dir().iterdir()) == []


def test_files_a_job_may_still_read_are_kept(project, rita):
    _, queued = job_with_file(project, rita, Job.Status.QUEUED)
    _, retrying = job_with_file(project, rita, Job.Status.RETRYING)
    _, running = job_with_file(project, rita, Job.Status.RUNNING, heartbeat=timezone.now())
    _, recent_failure = job_with_file(project, rita, Job.Status.FAILED, file_age=3600)
    being_saved = upload_save(items())  # its job is not stored yet

    assert import_files_cleanup() == []

    for path in (queued, retrying, running, recent_failure, being_saved):
        assert path.exists(), f"{path.name} was deleted though a job may still read it"


def test_a_running_job_silent_for_longer_than_the_age_loses_its_file(project, rita):
    silent = timezone.now() - timedelta(days=2)
    _, path = job_with_file(project, rita, Job.Status.RUNNING, heartbeat=silent)

    assert import_files_cleanup() == [path.name]
    assert not path.exists()


def test_the_age_is_a_parameter_and_other_files_are_left_alone(project, rita):
    _, path = job_with_file(project, rita, Job.Status.SUCCEEDED, file_age=3 * 3600)
    stranger = upload_dir() / "notes.txt"
    stranger.write_text("not an upload")
    age(stranger, 10 * DAY)

    assert import_files_cleanup() == []
    assert import_files_cleanup(max_age=timedelta(hours=2)) == [path.name]
    assert stranger.exists()


def test_no_upload_folder_is_nothing_to_clean():
    assert not upload_dir().exists()
    assert import_files_cleanup() == []


def test_a_new_import_job_sweeps_old_files_and_keeps_its_own(
    project, rita, eager_jobs, django_capture_on_commit_callbacks
):
    _, crashed = job_with_file(project, rita, Job.Status.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_start(
            project=project, upload=items(3), skip_invalid=False, created_by=rita
        )

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert project.items.count() == 3
    assert not crashed.exists()
    assert list(upload_dir().iterdir()) == []


def test_a_crashed_import_keeps_its_file_for_retry_and_the_retry_deletes_it(
    project, rita, eager_jobs, django_capture_on_commit_callbacks, monkeypatch
):
    def crash(**kwargs):
        raise OSError("disk went away")

    monkeypatch.setattr(uploads, "item_import", crash)
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_start(
            project=project, upload=items(2), skip_invalid=False, created_by=rita
        )
    job.refresh_from_db()
    path = upload_dir() / job.params["path"]
    assert job.status == Job.Status.FAILED and "disk went away" in job.error
    assert path.exists()

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=job)

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert project.items.count() == 2
    assert not path.exists()


def test_retrying_an_import_whose_file_was_swept_fails_saying_so(
    project, rita, eager_jobs, django_capture_on_commit_callbacks
):
    job, path = job_with_file(project, rita, Job.Status.FAILED)
    import_files_cleanup()

    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=job)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("The uploaded file is gone")
    assert "upload it again" in job.error


def test_the_command_deletes_and_counts(project, rita):
    _, path = job_with_file(project, rita, Job.Status.SUCCEEDED, file_age=5 * 3600)
    out = StringIO()

    call_command("import_files_cleanup", "--hours", "4", stdout=out)

    assert not path.exists()
    assert out.getvalue().splitlines() == [path.name, f"deleted 1 file(s) from {upload_dir()}"]
    with pytest.raises(CommandError, match="--hours must not be negative, got -1"):
        call_command("import_files_cleanup", "--hours", "-1")
