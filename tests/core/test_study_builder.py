"""The study builder: every task configured from what exists, in order; refusals name the task and
field; a task whose project or deliberation is deleted is skipped, and flagged to the researcher;
the tasks can be edited on the page and through the API until the first participant arrives."""

import pytest
from django.test import Client

from core.models import Participation, Study, StudyTask
from core.services import study_create
from tests.annotation.factories import ProjectFactory
from tests.elicitation.factories import DeliberationFactory, ScenarioFactory

pytestmark = pytest.mark.django_db

PID = "5f0c8a1b2c3d4e5f60718255"
NEW = "/researcher/studies/new/"
EDIT = "/researcher/studies/ordered/edit/"
API = "/api/studies/ordered/tasks/"
PID2 = "5f0c8a1b2c3d4e5f60718266"


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


def test_an_old_link_to_a_deleted_task_says_it_is_not_available_and_leads_back(
    study, project, anon
):
    worker = Client()
    worker.get(f"/join/ordered/?PROLIFIC_PID={PID}")
    consent = study.tasks.get(kind="consent")
    worker.post(f"/study/ordered/consent/{consent.pk}/", {"agree": "yes"})
    project_id = project.pk
    project.delete()

    response = worker.get(f"/annotation/work/{project_id}/")  # a bookmark, a second tab

    html = response.content.decode()
    assert response.status_code == 404
    assert "This is not available" in html and "Your study goes on without it." in html
    assert 'href="/study/ordered/"' in html
    assert "ORD1" in worker.get("/study/ordered/").content.decode()  # the rest is finished
    elsewhere = anon.get("/no-such-page/")
    assert elsewhere.status_code == 404 and "Not found" in elsewhere.content.decode()


# --- editing the tasks until the first participant arrives --------------------------------------


def kinds_and_configs(study: Study) -> list[tuple]:
    return list(study.tasks.values_list("kind", "config"))


def someone_joins() -> None:
    assert Client().get(f"/join/ordered/?PROLIFIC_PID={PID2}").status_code == 302


def test_the_edit_page_shows_the_tasks_as_stored(rita_client, study, project):
    html = rita_client.get(EDIT).content.decode()

    assert 'name="task-consent-on" id="id_task-consent-on" checked' in html
    assert "OK?" in html
    assert f'<option value="{project.pk}" selected>' in html
    assert 'name="slug"' in html and "disabled" in html.split('name="slug"')[1].split(">")[0]


def test_the_edit_page_lists_the_tasks_in_their_stored_order_even_without_javascript(
    rita_client, api_for, rita, study, project
):
    body = {
        "tasks": [
            {"kind": "annotation.label", "title": "Label", "config": {"project": project.pk}},
            {"kind": "consent", "title": "Consent"},
        ]
    }
    assert api_for(rita).put(API, body, format="json").status_code == 200

    html = rita_client.get(EDIT).content.decode()

    assert html.index('data-kind="annotation.label"') < html.index('data-kind="consent"')
    assert 'name="task-annotation_label-order" value="1"' in html
    assert 'src="/static/core/study_form.js"' in html  # the Move up / Move down buttons


def test_the_researcher_reorders_adds_and_removes_tasks_on_the_page(rita_client, study, project):
    response = rita_client.post(
        EDIT,
        {
            "title": "Ordered, second try",
            "completion_code": "ORD2",
            "consent_text": "New wording.",
            "task-consent-on": "on",
            "task-consent-order": "1",
            "task-moralgraph_vote-on": "on",
            "task-moralgraph_vote-order": "2",
            "task-moralgraph_vote-deliberation": "",
            "task-moralgraph_vote-votes": "3",
            "task-elicitation-on": "on",
            "task-elicitation-order": "3",
            "task-elicitation-deliberation": "friends",
            # labelling left unticked: removed
        },
    )

    assert response.status_code == 302 and response.url == "/researcher/studies/ordered/"
    study.refresh_from_db()
    assert (study.title, study.completion_code, study.slug) == (
        "Ordered, second try",
        "ORD2",
        "ordered",
    )
    assert [kind for kind, _ in kinds_and_configs(study)] == [
        "consent",
        "moralgraph.vote",
        "elicitation",
    ]
    assert study.tasks.get(kind="moralgraph.vote").config["votes"] == 3
    assert study.tasks.get(kind="consent").instructions == "New wording."


def test_a_bad_setting_on_the_edit_page_is_shown_beside_its_field_and_nothing_changes(
    rita_client, study
):
    before = kinds_and_configs(study)
    labelling_without_project = {"task-annotation_label-on": "on"}
    response = rita_client.post(EDIT, base(title="Ordered", **labelling_without_project))

    assert response.status_code == 200
    assert "choose the project whose items are labelled" in response.content.decode()
    assert kinds_and_configs(study) == before


def test_once_someone_joined_the_page_refuses_and_says_why(rita_client, study):
    assert "Edit tasks" in rita_client.get("/researcher/studies/ordered/").content.decode()
    someone_joins()
    before = kinds_and_configs(study)

    study_page = rita_client.get("/researcher/studies/ordered/").content.decode()
    page = rita_client.get(EDIT)
    # A tab opened before the participant arrived submits anyway.
    stale = rita_client.post(
        EDIT, {"title": "Changed", "completion_code": "X", "task-consent-on": "on"}
    )

    assert "Edit tasks" not in study_page and "the tasks are fixed" in study_page
    assert "1 participant has joined this study, so its tasks can no longer change" in (
        page.content.decode()
    )
    assert 'id="study-form"' not in page.content.decode()
    assert stale.status_code == 400
    assert "can no longer change" in stale.content.decode()
    study.refresh_from_db()
    assert study.title == "Ordered" and kinds_and_configs(study) == before


def test_the_api_lists_and_replaces_the_tasks(api_for, rita, study, project):
    client = api_for(rita)
    listed = client.get(API).json()
    assert [task["kind"] for task in listed] == ["consent", "annotation.label"]

    response = client.put(
        API,
        {
            "tasks": [
                {"kind": "annotation.label", "title": "Label", "config": {"project": project.pk}},
                {"kind": "consent", "title": "Consent", "instructions": "OK?"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200
    assert [(t["position"], t["kind"]) for t in response.json()] == [
        (0, "annotation.label"),
        (1, "consent"),
    ]
    assert [kind for kind, _ in kinds_and_configs(study)] == ["annotation.label", "consent"]


def test_the_api_refuses_a_bad_task_naming_it_and_changes_nothing(api_for, rita, study):
    before = kinds_and_configs(study)
    body = {
        "tasks": [
            {"kind": "consent", "title": "Consent"},
            {"kind": "moralgraph.vote", "title": "Vote", "config": {"votes": 0}},
        ]
    }

    response = api_for(rita).put(API, body, format="json")

    assert response.status_code == 400
    assert "tasks[1].config.votes" in response.json()
    assert kinds_and_configs(study) == before


def test_the_api_refuses_to_change_tasks_once_someone_joined(api_for, rita, study):
    someone_joins()
    before = kinds_and_configs(study)

    response = api_for(rita).put(
        API, {"tasks": [{"kind": "consent", "title": "Only consent"}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "tasks": ["Participants have joined this study, so its tasks can no longer change."]
    }
    assert kinds_and_configs(study) == before


def test_a_participant_may_not_edit_a_study(alice_client, api_for, alice, study):
    assert alice_client.get(EDIT).status_code == 302  # to the login page
    response = api_for(alice).put(API, {"tasks": []}, format="json")
    assert response.status_code == 403
    assert study.tasks.count() == 2
