"""Tasks are taken in order on every task page; a returning participant (same Prolific PID and
session, another browser) resumes their open interview; a voting task whose deliberation was
deleted is skipped by participants and flagged to the researcher."""

import pytest
from django.test import Client

from core.models import Participation
from core.services import study_create, task_complete
from elicitation.models import Chat, Deliberation
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.moralgraph.conftest import World, make_voter

pytestmark = pytest.mark.django_db

PID = "5f0c8a1b2c3d4e5f607182ee"
LINK = f"/join/walk/?PROLIFIC_PID={PID}&STUDY_ID=st&SESSION_ID=se1"


CONSENT = {"kind": "consent", "title": "Consent", "instructions": "OK?"}


def study_of(rita, slug: str, *tasks: dict):
    """A study ``slug`` (completion code ``SLUG1``) with ``tasks`` in that order."""
    code = f"{slug.upper()}1"
    return study_create(
        created_by=rita, slug=slug, title=slug.title(), completion_code=code, tasks=list(tasks)
    )


@pytest.fixture
def walk(rita):
    """consent → interview (deliberation mg) → labelling → voting (mg)."""
    world = World(make_voter("author"))
    world.story(world.distress, world.a, world.b)
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0, quota_per_worker=1)
    ItemFactory(project=project)
    study = study_of(
        rita,
        "walk",
        CONSENT,
        {"kind": "elicitation", "title": "Talk", "config": {"deliberation": "mg"}},
        {"kind": "annotation.label", "title": "Label", "config": {"project": project.pk}},
        {"kind": "moralgraph.vote", "title": "Judge", "config": {"deliberation": "mg"}},
    )
    return world, project, study


def test_every_later_task_page_sends_the_participant_to_the_task_they_are_on(walk):
    world, project, study = walk
    worker = Client()
    worker.get(LINK)
    consent_url = f"/study/walk/consent/{study.tasks.get(kind='consent').pk}/"
    later = [
        "/elicitation/?deliberation=mg",
        f"/annotation/work/{project.pk}/",
        "/moralgraph/mg/vote/",
    ]
    for url in later:
        response = worker.get(url)
        assert (response.status_code, response.url) == (302, consent_url), url
    started = worker.post(f"/elicitation/scenarios/{world.s1.pk}/start/")
    assert (started.status_code, started.url) == (302, consent_url)
    assert not Chat.objects.exists()

    worker.post(consent_url, {"agree": "yes"})

    # Now on the interview: labelling and voting send there; the interview opens.
    for url in later[1:]:
        response = worker.get(url)
        assert response.status_code == 302 and response.url.startswith("/elicitation/"), url
    assert worker.get(later[0]).status_code == 200
    study_page = worker.get("/study/walk/").content.decode()
    assert study_page.count(">Start<") == 1  # one task at a time


def test_a_returning_participant_in_another_browser_resumes_their_open_interview(walk, llm_double):
    world, _, study = walk
    first = Client()
    first.get(LINK)
    first.post(f"/study/walk/consent/{study.tasks.get(kind='consent').pk}/", {"agree": "yes"})
    chat_url = first.post(f"/elicitation/scenarios/{world.s1.pk}/start/", {"key": "k1"}).url
    chat = Chat.objects.get()
    first.post(f"/elicitation/chats/{chat.pk}/stream/", {"text": "Honesty, said kindly."})

    other = Client()  # the same participant, the same Prolific session, another browser
    assert other.get(LINK).url == "/study/walk/"
    scenarios = other.get("/elicitation/?deliberation=mg").content.decode()
    assert chat_url in scenarios  # "Your conversations" offers the open chat
    resumed = other.post(f"/elicitation/scenarios/{world.s1.pk}/start/", {"key": "k2"})

    assert resumed.url == chat_url and Chat.objects.count() == 1
    assert "Honesty, said kindly." in other.get(chat_url).content.decode()
    assert Participation.objects.filter(study__slug="walk").count() == 1


def test_a_deleted_deliberation_is_skipped_by_participants_and_flagged_to_the_researcher(
    rita, rita_client
):
    # A deliberation nobody wrote a card in yet can be deleted (cards and stories protect one).
    Deliberation.objects.create(name="later", title="Later")
    study_of(
        rita, "gone", CONSENT, {"kind": "moralgraph.vote", "config": {"deliberation": "later"}}
    )
    worker = Client()
    worker.get(f"/join/gone/?PROLIFIC_PID={PID}")
    Deliberation.objects.filter(name="later").delete()

    task = Participation.objects.get(user__prolific_pid=PID).study.tasks.get(kind="consent")
    worker.post(f"/study/gone/consent/{task.pk}/", {"agree": "yes"})
    page = worker.get("/study/gone/").content.decode()

    assert "The pairs of this voting task were removed." in page
    assert "You can go on without it" in page and "GONE1" in page
    flagged = rita_client.get("/researcher/studies/gone/").content.decode()
    assert "Not available to participants: The pairs of this voting task were removed." in flagged


def test_the_api_keeps_the_order_too_naming_the_task_to_finish_first(walk, api_for):
    world, project, study = walk
    Client().get(LINK)
    participant = Participation.objects.get(study=study).user
    client = api_for(participant)
    calls = [
        lambda: client.get(f"/api/annotation/projects/{project.pk}/next/"),
        lambda: client.get("/api/moralgraph/deliberations/mg/next/"),
        lambda: client.post("/api/elicitation/chats/", {"scenario": world.s1.pk}, format="json"),
    ]

    for call in calls:
        response = call()
        assert response.status_code == 409
        assert "Tasks are taken in order: finish “Consent” first" in response.json()["task"][0]
    assert not Chat.objects.exists()

    consent = study.tasks.get(kind="consent")
    task_complete(participation=Participation.objects.get(study=study), task=consent)
    assert calls[2]().status_code == 201
    assert calls[0]().status_code == 409  # labelling still waits for the interview
