"""The pre-label panel on the project page: counts, start, progress, retry of failed items."""

import pytest

from annotation.models import Item
from annotation.selectors.prelabels import KIND
from core.models import Job
from tests.annotation.factories import ItemFactory, PrelabelFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(db):
    project = ProjectFactory(slug="kindness")
    for n in range(4):
        ItemFactory(project=project, external_id=f"i{n}")
    return project


def panel_url(project) -> str:
    return f"/annotation/projects/{project.slug}/prelabel/"


def test_project_page_loads_the_prelabel_panel(project, rita_client):
    page = rita_client.get(f"/annotation/projects/{project.slug}/").content.decode()
    assert "Pre-labels" in page
    assert f'hx-get="{panel_url(project)}"' in page


def test_panel_counts_labelled_failed_and_pending_items_and_shows_why_items_failed(
    project, rita_client
):
    PrelabelFactory(item=Item.objects.get(external_id="i0"))
    Item.objects.filter(external_id="i1").update(
        prelabel_error="LLMInvalidOutput: <b>not JSON</b>", prelabel_attempts=2
    )

    html = rita_client.get(panel_url(project), HTTP_HX_REQUEST="true").content.decode()

    assert "<strong>1</strong> of 4 items pre-labelled · 1 failed · 2 to do." in html
    assert "Pre-label 2 items" in html
    assert "Retry 1 failed" in html
    # The error comes from the model's answer: shown as text, never as markup.
    assert "&lt;b&gt;not JSON&lt;/b&gt;" in html and "<b>not JSON" not in html


def test_pressing_start_twice_starts_one_job_and_the_panel_polls_its_progress(project, rita_client):
    first = rita_client.post(panel_url(project), HTTP_HX_REQUEST="true")
    second = rita_client.post(panel_url(project), HTTP_HX_REQUEST="true")

    assert first.status_code == second.status_code == 200
    job = Job.objects.get(kind=KIND)
    assert job.params == {"project_id": project.pk, "only_failed": False}
    html = second.content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert f"/jobs/{job.pk}/" in html
    assert "Pre-label 4 items" not in html  # no second start while one runs


def test_retry_failed_starts_a_job_for_only_the_failed_items(project, rita_client):
    Item.objects.filter(external_id="i1").update(prelabel_error="LLMInvalidOutput: bad")
    rita_client.post(panel_url(project), {"only_failed": "1"}, HTTP_HX_REQUEST="true")
    assert Job.objects.get(kind=KIND).params["only_failed"] is True


def test_without_htmx_the_start_button_returns_to_the_project_page(project, rita_client):
    response = rita_client.post(panel_url(project))
    assert response.status_code == 302
    assert response["Location"] == f"/annotation/projects/{project.slug}/"


def test_participants_never_see_or_start_prelabelling(project, alice_client, anon):
    for client in (alice_client, anon):
        assert client.get(panel_url(project)).status_code == 302
        assert client.post(panel_url(project)).status_code == 302
    assert not Job.objects.filter(kind=KIND).exists()
