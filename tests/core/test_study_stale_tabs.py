"""A participant's second (stale) tab that submits is told whether its answer was stored and why:
labels of an item already submitted or no longer reserved, a pair already answered, a card
already approved. What the first answer stored stays; what the stale tab said is shown back."""

import pytest

from annotation.assignment import slots_ensure
from annotation.models import Annotation, Slot
from elicitation.models import ValuesCard
from elicitation.services.cards import card_approve, card_edit
from elicitation.services.interviews import chat_start, message_post
from moralgraph.models import Vote
from moralgraph.selectors import story_pending_for_voter
from tests.annotation.factories import SCHWARTZ10, ItemFactory, ProjectFactory
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD
from tests.moralgraph.conftest import World

pytestmark = pytest.mark.django_db


def labels_form(**given: int) -> dict:
    return {"seconds": "8", **{f"label-{k}": str(given.get(k, 0)) for k in SCHWARTZ10}}


@pytest.fixture
def project(db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0, min_seconds=0)
    for n in range(3):
        ItemFactory(project=project, prompt=f"Prompt {n}?")
    slots_ensure(project=project)
    return project


def open_item(client, project):
    """Open the labelling page (as a tab would) and return the item it shows."""
    client.get(f"/annotation/work/{project.pk}/")
    return Slot.objects.get(project=project, state="leased").item


def test_a_second_tab_submitting_other_labels_is_told_they_were_not_stored(
    alice_client, alice, project
):
    item = open_item(alice_client, project)  # both tabs show this item
    url = f"/annotation/work/{project.pk}/items/{item.pk}/"
    alice_client.post(url, labels_form(benevolence=1))

    page = alice_client.post(url, labels_form(benevolence=-1)).content.decode()

    assert "Your labels for that item were not stored: you had already submitted it" in page
    assert Annotation.objects.get(item=item, annotator=alice).labels["benevolence"] == 1


def test_a_double_click_is_not_a_stale_tab(alice_client, project):
    item = open_item(alice_client, project)
    url = f"/annotation/work/{project.pk}/items/{item.pk}/"
    alice_client.post(url, labels_form(power=1))

    page = alice_client.post(url, labels_form(power=1)).content.decode()

    assert "not stored" not in page
    assert Annotation.objects.count() == 1


def test_labels_for_an_item_no_longer_reserved_are_refused_saying_why(alice_client, project):
    item = open_item(alice_client, project)
    alice_client.post(f"/annotation/work/{project.pk}/items/{item.pk}/pause/")  # the other tab

    page = alice_client.post(
        f"/annotation/work/{project.pk}/items/{item.pk}/", labels_form(benevolence=1)
    ).content.decode()

    assert "Your labels for that item were not stored: it was no longer reserved for you" in page
    assert not Annotation.objects.exists()


def test_a_pair_answered_again_from_a_second_tab_says_the_answer_changed(alice, bob_client, bob):
    world = World(alice)
    world.enrol(bob)
    world.story(world.distress, world.a, world.b)
    world.story(world.deciding, world.d, world.e)
    bob_client.get("/moralgraph/mg/vote/")
    story = story_pending_for_voter(voter=bob, deliberation=world.deliberation)
    bob_client.post("/moralgraph/mg/vote/", {"story": story.pk, "choice": "wiser"})

    page = bob_client.post(
        "/moralgraph/mg/vote/", {"story": story.pk, "choice": "not_wiser"}
    ).content.decode()

    assert "You had already answered that pair; your answer is now “No”." in page
    assert list(Vote.objects.values_list("choice", flat=True)) == ["not_wiser"]


def test_a_card_edit_from_a_stale_tab_after_approval_is_not_stored_and_shown_back(
    alice, alice_client, llm_double
):
    chat = chat_start(participant=alice, scenario=ScenarioFactory(question="Friends?"))
    message_post(chat=chat, text="Honesty between friends.")
    card_edit(chat=chat, **CARD)
    card_approve(chat=chat)  # in the other tab

    response = alice_client.post(
        f"/elicitation/chats/{chat.pk}/card/",
        {"title": "Words I Chose", "description": CARD["description"], "policies": "MOMENTS x"},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Your changes were not stored. This card is approved" in page
    assert "What you wrote: Words I Chose" in page
    assert ValuesCard.objects.get().title == CARD["title"]
