"""Uploads have a size limit (a setting); a big API import runs as a job, like the page's."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Item
from core.models import Job
from tests.annotation.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def lines(n: int) -> bytes:
    rows = ({"prompt": f"Question {i}?", "response": "An answer. " * 20} for i in range(n))
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def api_import(api, project, content: bytes, **headers):
    upload = SimpleUploadedFile("items.jsonl", content)
    return api.post(
        f"/api/annotation/projects/{project.pk}/items/import/",
        {"file": upload},
        format="multipart",
        **headers,
    )


def test_an_upload_over_the_limit_is_refused_with_413_and_nothing_stored(rita, api_for, settings):
    settings.VALUELAB_MAX_UPLOAD_MB = 0.05  # 50 kB
    project = ProjectFactory()

    response = api_import(api_for(rita), project, lines(400))  # about 100 kB

    assert response.status_code == 413
    assert "larger than the 0.05 MB limit" in response.json()["file"][0]
    assert not Item.objects.exists() and not Job.objects.exists()


def test_the_import_page_refuses_an_upload_over_the_limit_in_words(rita, rita_client, settings):
    settings.VALUELAB_MAX_UPLOAD_MB = 0.05
    project = ProjectFactory(slug="pilot")

    page = rita_client.post(
        "/annotation/projects/pilot/",
        {"file": SimpleUploadedFile("items.jsonl", lines(400)), "token": "t1"},
    )

    assert "larger than the 0.05 MB limit" in page.content.decode()
    assert not Job.objects.exists() and project.items.count() == 0


def test_a_big_api_import_runs_as_a_job_and_stores_every_item(
    rita, api_for, settings, eager_jobs, django_capture_on_commit_callbacks
):
    settings.VALUELAB_IMPORT_INLINE_MB = 0.01  # 10 kB: this file goes to a job
    project = ProjectFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_import(api_for(rita), project, lines(100))

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.kind == "annotation.import_items" and job.status == Job.Status.SUCCEEDED, job.error
    assert project.items.count() == 100


def test_a_small_api_import_still_answers_with_its_report(rita, api_for):
    project = ProjectFactory()

    response = api_import(api_for(rita), project, lines(3))

    assert response.status_code == 200 and response.json()["stored"] == 3
