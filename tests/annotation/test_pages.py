"""The researcher's project page: dimensions, counts, and the import form."""

import pytest

from annotation.models import Project
from core.models import ValueScheme
from tests.annotation.factories import ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = ProjectFactory(slug="pilot", name="Pilot project")
    ItemFactory(project=project)
    return project


def test_rita_sees_the_project_its_dimensions_and_counts(rita_client, project):
    response = rita_client.get("/annotation/projects/pilot/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Pilot project" in html
    assert "Self-direction" in html and "Universalism" in html
    assert "1 item" in html


def test_alice_is_sent_to_sign_in(alice_client, project):
    response = alice_client.get("/annotation/projects/pilot/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_missing_project_is_404(rita_client, db):
    assert rita_client.get("/annotation/projects/nope/").status_code == 404


def test_a_post_without_a_file_says_so(rita_client, project):
    response = rita_client.post("/annotation/projects/pilot/", {})

    assert response.status_code == 400
    assert "Choose a JSONL or CSV file" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "core/valuescheme",  # value schemes are core's (contracts.md: Layout)
        "core/valuedimension",
        "annotation/project",
        "annotation/item",
        "annotation/annotation",
        "annotation/prelabel",
    ],
)
def test_every_annotation_model_has_an_admin_page(adam, path, project):
    from django.test import Client

    client = Client()
    client.force_login(adam)

    assert client.get(f"/admin/{path}/").status_code == 200


def test_rita_lists_projects_and_creates_one_from_the_page(rita_client, project):
    listing = rita_client.get("/annotation/projects/")
    assert listing.status_code == 200
    assert "Pilot project" in listing.content.decode()

    scheme = ValueScheme.objects.get(key="schwartz10")
    response = rita_client.post(
        "/annotation/projects/",
        {"name": "Second wave", "slug": "wave-2", "scheme": scheme.pk, "overlap": 5},
    )

    assert response.status_code == 302
    assert response["Location"] == "/annotation/projects/wave-2/"
    created = Project.objects.get(slug="wave-2")
    assert (created.overlap, created.created_by.username) == (5, "rita")


def test_a_taken_short_name_is_refused_on_the_form(rita_client, project):
    scheme = ValueScheme.objects.get(key="schwartz10")
    response = rita_client.post(
        "/annotation/projects/",
        {"name": "Again", "slug": "pilot", "scheme": scheme.pk, "overlap": 3},
    )

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Project.objects.filter(slug="pilot").count() == 1


def test_participants_cannot_reach_the_project_list(alice_client, db):
    assert alice_client.get("/annotation/projects/").status_code == 302
