"""The study builder: every task configured from what exists, in order; refusals name the task and
field; a task whose project or deliberation is deleted is skipped, and flagged to the researcher."""

import pytest
from django.test import Client

from core.models import Participation, Study, StudyTask
from core.services import study_create
from tests.annotation.factories import ProjectFactory
from tests.elicitation.factories import DeliberationFactory, ScenarioFactory

pytestmark = pytest.mark.django_db

PID = "5f0c8a1b2c3d4e5f60718255"
NEW = "/researcher/studies/new/"


@pytest.fixture
def project():
    return ProjectFactory(name="Fulcra sample", quota_per_worker=3)


@pytest.fixture
def deliberation():
    deliberation = DeliberationFactory(name="friends")
    ScenarioFactory(deliberation=deliberation, question="My friend keeps cancelling.")
    return deliberation


def base(**extra):
    return {"title": "Values study", "slug": "values-study", "completion_code": "VS1", **extra}


def test_the_page_builds_a_study_with_every_task_configured_and_ordered(
    rita_client, project, deliberation
):
    page = rita_client.get(NEW).content.decode()
    assert "Fulcra sample" in page and "friends" in page
    assert page.index('data-kind="consent"') < page.index(
        'data-kind="elicitation"'
    )  # consent first

    response = rita_client.post(
        NEW,
        base(
            consent_text="Answers are stored under a pseudonym.",
            **{
                "task-consent-on": "on",
                "task-elicitation-on": "on",
                "task-elicitation-deliberation": "friends",
                "task-annotation_label-on": "on",
                "task-annotation_label-project": str(project.pk),
                # The researcher puts labelling last, after voting.
                "task-annotation_label-order": "9",
                "task-moralgraph_vote-on": "on",
                "task-moralgraph_vote-deliberation": "",
                "task-moralgraph_vote-votes": "3",
            },
        ),
    )

    assert response.status_code == 302
    study = Study.objects.get(slug="values-study")
    tasks = list(study.tasks.values_list("kind", "config"))
    assert tasks == [
        ("consent", {}),
        ("elicitation", {"deliberation": "friends"}),
        ("moralgraph.vote", {"votes": 3}),
        ("annotation.label", {"project": project.pk}),
    ]
    assert study.tasks.get(kind="consent").instructions.startswith("Answers are stored")


def test_a_labelling_task_without_a_project_is_refused_beside_its_field(rita_client, project):
    response = rita_client.post(NEW, base(**{"task-annotation_label-on": "on"}))

    assert response.status_code == 200
    html = response.content.decode()
    assert "choose the project whose items are labelled" in html
    assert not Study.objects.exists()


def test_the_api_refuses_a_task_naming_nothing_that_exists_with_task_and_field(api_for, rita):
    client = api_for(rita)
    body = base(
        tasks=[
            {"kind": "consent", "title": "Consent"},
            {"kind": "annotation.label", "title": "Label", "config": {"project": -1}},
            {"kind": "moralgraph.vote", "title": "Vote", "config": {"votes": 0}},
            {"kind": "elicitation", "title": "Talk", "config": {"deliberation": "nope"}},
            {"kind": "no.such", "title": "X"},
        ]
    )

    response = client.post("/api/studies/", body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {
        "tasks[1].config.project",
        "tasks[2].config.votes",
        "tasks[3].config.deliberation",
        "tasks[4].kind",
    }
    assert "no project with id -1" in errors["tasks[1].config.project"][0]
    assert not Study.objects.exists()


def test_the_api_creates_a_configured_study(api_for, rita, project, deliberation):
    body = base(
        tasks=[
            {"kind": "consent", "title": "Consent"},
            {"kind": "annotation.label", "title": "Label", "config": {"project": project.pk}},
        ]
    )
    response = api_for(rita).post("/api/studies/", body, format="json")
    assert response.status_code == 201
    assert list(StudyTask.objects.values_list("kind", flat=True)) == ["consent", "annotation.label"]


def test_pvq_is_offered_only_when_its_items_are_installed(rita_client, api_for, rita, settings):
    settings.TRAINING_PVQ40_ITEMS = "/nonexistent/pvq40_items.csv"
    assert "PVQ-40" not in rita_client.get(NEW).content.decode()
    body = base(tasks=[{"kind": "training.pvq40", "title": "PVQ"}])
    response = api_for(rita).post("/api/studies/", body, format="json")
    assert response.status_code == 400 and "tasks[0].kind" in response.json()


# --- order, and tasks whose subject was deleted ------------------------------------------------


@pytest.fixture
def study(rita, project, deliberation):
    return study_create(
        created_by=rita,
        slug="ordered",
        title="Ordered",
        completion_code="ORD1",
        tasks=[
            {"kind": "consent", "title": "Consent", "instructions": "OK?"},
            {"kind": "annotation.label", "title": "Label", "config": {"project": project.pk}},
        ],
    )


def test_a_later_task_opened_directly_sends_the_participant_to_the_task_they_are_on(study, project):
    worker = Client()
    worker.get(f"/join/ordered/?PROLIFIC_PID={PID}")
    consent = study.tasks.get(kind="consent")

    response = worker.get(f"/annotation/work/{project.pk}/")

    assert response.status_code == 302
    assert response.url == f"/study/ordered/consent/{consent.pk}/"
    worker.post(response.url, {"agree": "yes"})
    assert worker.get(f"/annotation/work/{project.pk}/").status_code == 200


def test_a_deleted_project_is_skipped_and_flagged_and_the_rest_can_be_finished(
    study, project, rita_client
):
    worker = Client()
    worker.get(f"/join/ordered/?PROLIFIC_PID={PID}")
    project.delete()

    consent = study.tasks.get(kind="consent")
    worker.post(f"/study/ordered/consent/{consent.pk}/", {"agree": "yes"})
    html = worker.get("/study/ordered/").content.decode()

    assert "Not available" in html and "You can go on without it" in html
    assert 'id="completion-code"' in html and "ORD1" in html
    assert Participation.objects.get().completed is not None
    flagged = rita_client.get("/researcher/studies/ordered/").content.decode()
    assert "Not available to participants" in flagged
