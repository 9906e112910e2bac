"""Importing from the project page as a job: one job per upload, its progress and its report."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.services import item_import
from annotation.uploads import KIND, upload_dir
from core.models import Job
from tests.annotation.factories import ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db

GOOD = [
    {"id": "g1", "prompt": "Is lying ok?", "response": "Rarely.", "labels": {"benevolence": 1}},
    {"prompt": "Tell a joke", "response": "Why did the chicken…", "source": "gpt"},
]
BAD = {"prompt": "P", "response": "R", "labels": {"<script>": 1}}


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def project():
    project = ProjectFactory(slug="pilot", name="Pilot project")
    ItemFactory(project=project, external_id="old")
    return project


def url(project) -> str:
    return f"/annotation/projects/{project.slug}/"


def post(client, project, content: bytes, *, once="t1", htmx=False, **data):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    upload = SimpleUploadedFile("items.jsonl", content)
    return client.post(url(project), {"file": upload, "token": once, **data}, **headers)


def test_the_page_carries_a_one_time_token_and_an_htmx_upload_form(rita_client, project):
    first = rita_client.get(url(project)).content.decode()
    second = rita_client.get(url(project)).content.decode()

    assert 'hx-encoding="multipart/form-data"' in first
    assert 'id="upload-progress"' in first
    assert "annotation/import.js" in first
    token = first.split('name="token" value="')[1].split('"')[0]
    assert len(token) == 32 and token not in second


def test_a_plain_post_saves_the_file_starts_one_job_and_goes_to_the_job_page(
    rita_client, rita, project, var_dir
):
    response = post(rita_client, project, jsonl(*GOOD))

    job = Job.objects.get(kind=KIND)
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert job.created_by == rita
    assert job.params["project_id"] == project.pk
    assert job.params["filename"] == "items.jsonl"
    saved = upload_dir() / job.params["path"]
    assert saved.parent == var_dir / "uploads" / "annotation-import"
    assert saved.read_bytes() == jsonl(*GOOD)
    assert project.items.count() == 1  # nothing is imported in the request


def test_a_double_submit_with_the_same_token_starts_one_job_and_keeps_one_file(
    rita_client, project
):
    first = post(rita_client, project, jsonl(*GOOD), once="same")
    second = post(rita_client, project, jsonl(*GOOD), once="same")
    other = post(rita_client, project, jsonl(*GOOD), once="another")

    assert first["Location"] == second["Location"] != other["Location"]
    assert Job.objects.filter(kind=KIND).count() == 2
    assert len(list(upload_dir().iterdir())) == 2


def test_the_job_stores_the_items_and_reports_counts_and_the_panel_shows_them(
    rita_client, project, eager_jobs, django_capture_on_commit_callbacks
):
    content = jsonl(*GOOD, {"id": "old", "prompt": "p", "response": "r"})
    with django_capture_on_commit_callbacks(execute=True):
        response = post(rita_client, project, content, htmx=True)

    job = Job.objects.get(kind=KIND)
    assert job.status == Job.Status.SUCCEEDED
    assert job.result == {
        "stored": 2,
        "duplicates": 1,
        "invalid": 0,
        "errors": [],
        "rejected": False,
    }
    assert job.progress_done == job.progress_total == len(content)
    assert project.items.count() == 3
    assert list(upload_dir().iterdir()) == []  # the upload is deleted once imported
    # The htmx answer is the import card: the panel of this job and a form with a new token.
    card = response.content.decode()
    assert response.status_code == 200
    assert 'id="import-card"' in card and "<h1>" not in card
    # The card was rendered in the request, before the job ran at commit: it polls the panel.
    assert f'hx-get="/annotation/projects/pilot/?import_job={job.pk}"' in card
    assert 'name="token" value="t1"' not in card
    panel = rita_client.get(f"{url(project)}?import_job={job.pk}", HTTP_HX_REQUEST="true")
    assert "Stored 2, already there 1, skipped 0." in panel.content.decode()
    assert "hx-trigger" not in panel.content.decode()  # finished: no more polling


def test_a_running_job_panel_polls_and_shows_bytes_read(rita_client, project):
    post(rita_client, project, jsonl(*GOOD))
    job = Job.objects.get(kind=KIND)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, progress_done=512, progress_total=2048
    )

    html = rita_client.get(f"{url(project)}?import_job={job.pk}", HTTP_HX_REQUEST="true")

    text = html.content.decode()
    assert '<progress max="100" value="25"' in text
    assert 'hx-trigger="every 1s"' in text
    assert "512\xa0bytes of 2.0\xa0KB read." in text


def test_a_bad_file_fails_the_job_naming_the_line_and_stores_nothing(
    rita_client, project, eager_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(rita_client, project, jsonl(GOOD[0], BAD, GOOD[1]))

    job = Job.objects.get(kind=KIND)
    assert job.status == Job.Status.FAILED
    assert job.error == "Nothing was stored: 1 bad line."
    assert job.result["rejected"] is True
    assert job.result["errors"] == [
        "line 2: labels.<script>: '<script>' is not a dimension of the scheme"
    ]
    assert project.items.count() == 1
    html = rita_client.get(f"{url(project)}?import_job={job.pk}", HTTP_HX_REQUEST="true")
    text = html.content.decode()
    assert "Nothing was stored." in text
    assert "line 2: labels.&lt;script&gt;" in text and "<script>" not in text


def test_skip_invalid_stores_the_good_lines_and_reports_the_bad_one(
    rita_client, project, eager_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(rita_client, project, jsonl(GOOD[0], BAD, GOOD[1]), skip_invalid="on")

    job = Job.objects.get(kind=KIND)
    assert job.status == Job.Status.SUCCEEDED
    assert (job.result["stored"], job.result["invalid"]) == (2, 1)
    assert project.items.count() == 3


def test_a_file_that_is_not_utf8_fails_the_job_saying_why(
    rita_client, project, eager_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(rita_client, project, b'{"prompt": "caf\xe9", "response": "r"}\n')

    job = Job.objects.get(kind=KIND)
    assert job.status == Job.Status.FAILED
    assert "line 1: not UTF-8 text" in job.error
    assert project.items.count() == 1


def test_a_post_without_a_file_says_so_and_starts_nothing(rita_client, project):
    response = rita_client.post(url(project), {"token": "t"})

    assert response.status_code == 400
    assert "Choose a JSONL or CSV file" in response.content.decode()
    assert not Job.objects.filter(kind=KIND).exists()


def test_a_participant_cannot_start_an_import(alice_client, project):
    response = post(alice_client, project, jsonl(*GOOD))

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not Job.objects.filter(kind=KIND).exists()
    assert not upload_dir().exists()


def test_the_panel_of_another_projects_import_is_404(rita_client, project):
    post(rita_client, project, jsonl(*GOOD))
    job = Job.objects.get(kind=KIND)
    other = ProjectFactory(slug="other")

    assert rita_client.get(f"{url(other)}?import_job={job.pk}").status_code == 404
    assert rita_client.get(f"{url(project)}?import_job=not-a-uuid").status_code == 404


def test_item_import_reports_lines_read_after_every_batch():
    project = ProjectFactory()
    content = jsonl(*({"prompt": f"p{n}", "response": "r"} for n in range(25)))
    seen: list[int] = []

    report = item_import(
        project=project, stream=io.BytesIO(content), batch_size=10, progress=seen.append
    )

    assert seen == [10, 20]
    assert report.stored == 25
