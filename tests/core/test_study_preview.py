"""A researcher previews every task of a study as a participant would see it — consent, the
interview's questions, labelling, voting, the PVQ-40 — and nothing they do there is stored."""

import re

import pytest

from annotation.models import Annotation, Slot
from core.models import Participation, TaskCompletion
from core.services import study_create
from moralgraph.models import StoryImpression, Vote
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.moralgraph.conftest import World, make_voter
from tests.training.test_targets import pvq_items  # noqa: F401  (a fixture)
from training import pvq
from training.models import Target

pytestmark = pytest.mark.django_db

BANNER = "This is what a participant sees. Nothing you do here is stored."


@pytest.fixture
def study(rita, pvq_items):  # noqa: F811
    world = World(make_voter("author"))
    world.story(world.distress, world.a, world.b, text="I used to think honesty was enough.")
    project = ProjectFactory(name="Chatbot answers", quota_per_worker=3)
    ItemFactory(project=project, prompt="Should I tell my friend?", response="Maybe.")
    tasks = [
        {"kind": "consent", "title": "Consent", "instructions": "Stored under a pseudonym."},
        {"kind": "elicitation", "title": "Talk", "config": {"deliberation": "mg"}},
        {"kind": "annotation.label", "title": "Label", "config": {"project": project.pk}},
        {"kind": "moralgraph.vote", "title": "Vote", "config": {"votes": 3}},
        {"kind": "training.pvq40", "title": "Profile"},
    ]
    names = {"slug": "previewed", "title": "Previewed", "completion_code": "PV1"}
    return study_create(created_by=rita, tasks=tasks, **names)


def preview_links(rita_client) -> list[str]:
    html = rita_client.get("/researcher/studies/previewed/").content.decode()
    return [
        link.replace("&amp;", "&")
        for link in re.findall(r'class="preview-link" href="([^"]+)"', html)
    ]


def nothing_stored() -> None:
    assert not Participation.objects.filter(study__slug="previewed").exists()
    assert not TaskCompletion.objects.exists()
    assert not Vote.objects.exists() and not StoryImpression.objects.exists()
    assert not Annotation.objects.exists()
    assert not Slot.objects.filter(state=Slot.State.LEASED).exists()
    assert not Target.objects.exists()


def test_every_task_has_a_preview_showing_what_a_participant_sees(rita_client, study):
    links = preview_links(rita_client)
    assert len(links) == 5
    expected = [
        "Stored under a pseudonym.",
        "Help me?",  # the interview's questions
        "Should I tell my friend?",  # the first item to label
        "I used to think honesty was enough.",  # the pair to judge
        "Portrait number 1.",  # the PVQ-40
    ]
    for link, text in zip(links, expected, strict=True):
        response = rita_client.get(link)
        html = response.content.decode()
        assert response.status_code == 200, link
        assert BANNER in html and text in html, link
    assert "Pair 1 of 1" in rita_client.get(links[3]).content.decode()
    assert '<span id="done-count">0</span> of 3 done' in rita_client.get(links[2]).content.decode()
    nothing_stored()


def test_answering_in_a_preview_stores_nothing_and_says_so(rita_client, study):
    consent, interview, label, vote, profile = preview_links(rita_client)
    story_pk = re.search(r'name="story" value="(\d+)"', rita_client.get(vote).content.decode())[1]
    item_form = rita_client.get(label).content.decode()
    submit = re.search(r'<form id="label-form"[^>]*action="([^"]+)"', item_form)[1]

    agreed = rita_client.post(consent, {"agree": "yes"}, follow=True).content.decode()
    voted = rita_client.post(vote, {"story": story_pk, "choice": "wiser"}).content.decode()
    labelled = rita_client.post(submit, {"label-benevolence": "1"}).content.decode()
    answered = rita_client.post(profile, {f"item-{n}": "4" for n in range(1, pvq.N_ITEMS + 1)})
    half = rita_client.post(profile, {"item-1": "4"})

    assert "Preview: a participant would go on to the next task now." in agreed
    assert "Preview: your answer was checked and not stored" in voted
    assert "Preview: these labels were not stored" in labelled
    assert "Preview: these answers are complete; nothing was stored." in answered.content.decode()
    assert half.status_code == 400
    assert (
        "disabled" in rita_client.get(interview).content.decode().split("Talk about this")[0][-80:]
    )
    nothing_stored()


def test_a_participant_cannot_open_a_preview(alice_client, study):
    project_id = study.tasks.get(kind="annotation.label").config["project"]
    assert alice_client.get(f"/annotation/work/{project_id}/preview/").status_code == 302
