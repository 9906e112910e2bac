"""The project page's item counts follow an htmx import: the finished panel carries them."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.uploads import KIND
from core.models import Job
from tests.annotation.factories import ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def project():
    project = ProjectFactory(slug="pilot")
    ItemFactory(project=project, external_id="old")
    return project


def items_file(count: int) -> SimpleUploadedFile:
    lines = "".join(
        json.dumps({"id": f"n{n}", "prompt": f"Question {n}?", "response": "Yes."}) + "\n"
        for n in range(count)
    )
    return SimpleUploadedFile("items.jsonl", lines.encode())


def counts_block(html: str) -> str:
    return html.split('id="item-counts"')[1].split("</p>")[0]


def test_the_project_page_shows_the_counts_in_a_block_with_an_id(rita_client, project):
    html = rita_client.get("/annotation/projects/pilot/").content.decode()

    assert html.count('id="item-counts"') == 1
    assert "hx-swap-oob" not in html
    assert "1 item (" in counts_block(html)


def test_the_finished_import_panel_swaps_in_the_new_counts_out_of_band(
    rita_client, project, eager_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        card = rita_client.post(
            "/annotation/projects/pilot/", {"file": items_file(4), "token": "t"}, **HTMX
        )
    job = Job.objects.get(kind=KIND)
    assert job.status == Job.Status.SUCCEEDED
    # The card was answered before the job ran: it polls, and carries no counts yet.
    assert 'id="item-counts"' not in card.content.decode()

    panel = rita_client.get(f"/annotation/projects/pilot/?import_job={job.pk}", **HTMX)

    html = panel.content.decode()
    assert "Stored 4, already there 0, skipped 0." in html
    assert '<p id="item-counts" hx-swap-oob="true">' in html
    assert "5 items (" in counts_block(html)
    assert "Vary" in panel and "HX-Request" in panel["Vary"]


def test_a_running_import_panel_carries_no_counts(rita_client, project):
    rita_client.post("/annotation/projects/pilot/", {"file": items_file(2), "token": "t"})
    job = Job.objects.get(kind=KIND)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)

    html = rita_client.get(f"/annotation/projects/pilot/?import_job={job.pk}", **HTMX).text

    assert 'hx-trigger="every 1s"' in html
    assert 'id="item-counts"' not in html


def test_a_resubmitted_finished_import_answers_with_fresh_counts(
    rita_client, project, eager_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rita_client.post(
            "/annotation/projects/pilot/", {"file": items_file(3), "token": "t"}, **HTMX
        )

    again = rita_client.post(
        "/annotation/projects/pilot/", {"file": items_file(3), "token": "t"}, **HTMX
    ).content.decode()

    assert Job.objects.filter(kind=KIND).count() == 1
    assert '<p id="item-counts" hx-swap-oob="true">' in again
    assert "4 items (" in counts_block(again)
