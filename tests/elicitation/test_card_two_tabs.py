"""Two tabs editing one proposed card: an edit made on a card that changed since it was opened is
refused (the page says it was not stored and why, and keeps what was typed; the API answers 409
naming ``revision``); clients that send no revision keep working as before."""

import html as html_module
import re

import pytest
from django.urls import reverse

from elicitation.models import ValuesCard
from elicitation.services.cards import card_edit
from elicitation.services.interviews import chat_start, message_post
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD

pytestmark = pytest.mark.django_db

FIRST_TAB = {**CARD, "title": "Honest Friends"}
SECOND_TAB = {**CARD, "title": "Plans Kept Together"}


@pytest.fixture
def chat(alice, llm_double):
    scenario = ScenarioFactory(question="My friend keeps cancelling plans. What should I do?")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="I want them to be honest about being tired.")
    card_edit(chat=chat, **CARD)  # the proposed card both tabs open
    return chat


def revision_in(page: str) -> str:
    return re.search(r'name="revision" value="(\d+)"', page).group(1)


def test_the_second_tab_is_told_its_edit_was_not_stored_and_keeps_its_words(alice_client, chat):
    page = alice_client.get(reverse("elicitation:chat", args=[chat.pk])).content.decode()
    opened = revision_in(page)  # both tabs loaded the page now
    url = reverse("elicitation:card_update", args=[chat.pk])

    first = alice_client.post(url, {**FIRST_TAB, "revision": opened}, HTTP_HX_REQUEST="true")
    second = alice_client.post(url, {**SECOND_TAB, "revision": opened}, HTTP_HX_REQUEST="true")

    assert first.status_code == 200
    assert second.status_code == 409
    shown = html_module.unescape(second.content.decode())
    assert "Your changes were not stored: this card was changed in another tab" in shown
    assert 'value="Plans Kept Together"' in shown  # what they typed stays in the form
    assert '<h2 class="values-card-title">Honest Friends</h2>' in shown  # the card as it is
    card = ValuesCard.objects.get()
    assert card.title == "Honest Friends"

    # Saving again from that form (it now carries the card's revision) replaces it knowingly.
    again = alice_client.post(
        url, {**SECOND_TAB, "revision": revision_in(shown)}, HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 200
    card.refresh_from_db()
    assert card.title == "Plans Kept Together"


def test_a_form_opened_before_any_card_does_not_overwrite_one_written_meanwhile(
    alice_client, alice, llm_double
):
    scenario = ScenarioFactory(question="My friend keeps cancelling plans. What should I do?")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="I want them to be honest.")
    page = alice_client.get(reverse("elicitation:chat", args=[chat.pk])).content.decode()
    assert revision_in(page) == "0"
    card_edit(chat=chat, **FIRST_TAB, revision=0)  # the other tab wrote the card by hand

    stale = alice_client.post(
        reverse("elicitation:card_update", args=[chat.pk]), {**SECOND_TAB, "revision": "0"}
    )

    assert stale.status_code == 409
    assert ValuesCard.objects.get().title == "Honest Friends"


def test_the_api_answers_409_naming_revision_for_a_stale_edit(api_for, alice, chat):
    client = api_for(alice)
    url = f"/api/elicitation/chats/{chat.pk}/card/"
    read = client.get(f"/api/elicitation/chats/{chat.pk}/").json()["card"]["revision"]

    first = client.put(url, {**FIRST_TAB, "revision": read}, format="json")
    stale = client.put(url, {**SECOND_TAB, "revision": read}, format="json")

    assert first.status_code == 200 and first.json()["revision"] == read + 1
    assert stale.status_code == 409
    assert list(stale.json()) == ["revision"]
    assert "not stored" in stale.json()["revision"][0]
    assert f"revision {read + 1}" in stale.json()["revision"][0]
    assert ValuesCard.objects.get().title == "Honest Friends"


def test_an_api_client_sending_no_revision_still_replaces_the_card(api_for, alice, chat):
    url = f"/api/elicitation/chats/{chat.pk}/card/"

    response = api_for(alice).put(url, SECOND_TAB, format="json")

    assert response.status_code == 200 and response.json()["title"] == "Plans Kept Together"


def test_a_bad_revision_is_a_400_naming_it(api_for, alice, chat):
    url = f"/api/elicitation/chats/{chat.pk}/card/"
    response = api_for(alice).put(url, {**SECOND_TAB, "revision": "soon"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["revision"]
