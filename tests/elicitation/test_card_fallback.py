"""No participant is stranded without a card: off-style cards are proposed with hints, and a card
the model cannot write at all is written by hand in the same form, then approved."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.models import LLMCall, Participation
from core.selectors import participation_task_states
from core.services import study_create
from elicitation.models import Chat, ValuesCard
from elicitation.selectors import card_style_hints
from elicitation.services.card_drafts import chat_card_write
from elicitation.services.cards import card_approve, card_edit
from elicitation.services.interviews import chat_reply, chat_start, message_post
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD

pytestmark = pytest.mark.django_db

OFF_STYLE = {
    "title": "Honesty",
    "description": "Being honest with friends.",
    "policies": ["honesty", "telling the truth", "being open"],
}


@pytest.fixture
def scenario():
    return ScenarioFactory(question="My friend keeps cancelling plans. What should I do?")


@pytest.fixture
def chat(alice, scenario, llm_double):
    # The double first: a chat keeps the prompt of the backend it started on.
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="I want them to be honest about being tired.")
    return chat


def write(chat):
    return list(chat_card_write(chat=chat))


def test_an_off_style_card_is_asked_for_once_more_then_proposed_with_hints(chat, llm_double):
    llm_double.reply_json(OFF_STYLE).reply_json(OFF_STYLE)

    [event] = write(chat)

    assert event.kind == "card" and event.card.title == "Honesty"
    chat.refresh_from_db()
    assert chat.state == Chat.State.CARD_PROPOSED and chat.last_error == ""
    assert len(llm_double.chat_requests) == 2  # the card, then one re-ask: no more
    re_ask = llm_double.chat_requests[1]["messages"][-1]["content"]
    assert "does not follow the rules" in re_ask and "CAPITALS" in re_ask
    hints = card_style_hints(event.card)
    assert set(hints) == {"title", "policies.1", "policies.2", "policies.3"}


def test_a_re_ask_that_fixes_the_wording_is_the_card_proposed(chat, llm_double):
    llm_double.reply_json(OFF_STYLE).reply_json(CARD)

    [event] = write(chat)

    assert event.card.title == CARD["title"] and card_style_hints(event.card) == {}


def test_a_re_ask_that_fails_keeps_the_first_card(chat, llm_double):
    llm_double.reply_json(OFF_STYLE).fail(status=400)

    [event] = write(chat)

    assert event.kind == "card" and event.card.title == "Honesty"


def test_a_card_nobody_could_write_is_written_by_hand_and_approved(
    alice, rita, chat, scenario, llm_double, settings
):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 2
    study = study_create(
        created_by=rita,
        slug="s-hand",
        title="S",
        completion_code="DONE",
        tasks=[{"kind": "elicitation", "title": "Interview", "config": {}}],
    )
    participation = Participation.objects.create(study=study, user=alice)
    llm_double.malformed().malformed()
    [event] = write(chat)
    assert event.kind == "error" and "write the card yourself" in event.text
    chat.refresh_from_db()
    assert chat.state == Chat.State.FAILED and chat.card is None

    card = card_edit(
        chat=chat, title="Honest Friends", description="Say so.", policies=OFF_STYLE["policies"]
    )
    again = card_edit(
        chat=chat, title="Honest Friends", description="Say so.", policies=OFF_STYLE["policies"]
    )

    assert again.pk == card.pk and ValuesCard.objects.count() == 1
    chat.refresh_from_db()
    assert chat.state == Chat.State.CARD_PROPOSED and chat.card == card
    assert card.author == alice and card.scenario == scenario and card.status == "proposed"
    card_approve(chat=chat)
    [state] = participation_task_states(participation=participation)
    assert state.done


def test_a_card_can_be_written_by_hand_without_asking_the_model(chat, llm_double):
    card = card_edit(chat=chat, **CARD)
    assert card.title == CARD["title"] and llm_double.chat_requests == []


def test_no_card_by_hand_before_the_participant_has_said_anything(alice, scenario):
    chat = chat_start(participant=alice, scenario=scenario)
    with pytest.raises(ValidationError) as error:
        card_edit(chat=chat, **CARD)
    assert "card" in error.value.message_dict


def test_an_approved_card_can_no_longer_be_changed(chat):
    card_edit(chat=chat, **CARD)
    card_approve(chat=chat)
    with pytest.raises(ValidationError) as error:
        card_edit(chat=chat, **{**CARD, "title": "Other Words"})
    assert "approved" in error.value.message_dict["card"][0]


# --- the API ---------------------------------------------------------------------------------


def test_the_api_proposes_an_off_style_card_with_its_hints(api_for, alice, chat, llm_double):
    # The double's unscripted answer fits the schema but not the wording rules.
    response = api_for(alice).post(f"/api/elicitation/chats/{chat.pk}/card/write/")

    assert response.status_code == 200
    card = response.json()
    assert card["title"] == "scripted default"
    assert "CAPITALS" in card["style_hints"]["policies.2"]
    assert card["style_hints"]["policies.1"].startswith("This item repeats the description")


def test_put_creates_the_card_when_none_was_written_then_it_is_approved(
    api_for, alice, chat, llm_double, settings
):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 1
    client = api_for(alice)
    llm_double.fail(status=503, times=3)
    failed = client.post(f"/api/elicitation/chats/{chat.pk}/card/write/")
    assert failed.status_code == 503

    url = f"/api/elicitation/chats/{chat.pk}/card/"
    bad = client.put(url, {"title": "", "description": "x", "policies": ["a"]}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"title", "description", "policies"}
    assert ValuesCard.objects.count() == 0
    created = client.put(url, {**OFF_STYLE, "title": "Honest Friends"}, format="json")
    assert created.status_code == 200
    assert created.json()["title"] == "Honest Friends"
    assert set(created.json()["style_hints"]) == {"policies.1", "policies.2", "policies.3"}

    approved = client.post(f"/api/elicitation/chats/{chat.pk}/card/approve/")
    assert approved.status_code == 200 and approved.json()["id"] == created.json()["id"]
    assert client.get(f"/api/elicitation/chats/{chat.pk}/").json()["state"] == "approved"


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_hints_beside_the_fields_of_an_off_style_card(
    alice_client, chat, llm_double
):
    llm_double.reply_json(OFF_STYLE).reply_json(OFF_STYLE)
    url = reverse("elicitation:card_write", args=[chat.pk])

    html = alice_client.post(url, HTTP_HX_REQUEST="true").content.decode()

    assert 'id="approve"' in html
    assert 'id="hint-title"' in html and "2 to 5 words" in html
    assert 'id="hint-policy-1"' in html and 'aria-describedby="hint-policy-1"' in html
    assert 'id="hint-description"' not in html
    assert '<details class="card-edit" open>' in html


def test_when_writing_fails_the_page_offers_the_hand_written_card(
    alice_client, chat, llm_double, settings
):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 1
    llm_double.malformed()
    html = alice_client.post(
        reverse("elicitation:card_write", args=[chat.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Write the card yourself" in html and 'id="write-card"' in html

    saved = alice_client.post(
        reverse("elicitation:card_update", args=[chat.pk]),
        {"title": "Honest Friends", "description": "Say so.", "policies": CARD["policies"]},
        HTTP_HX_REQUEST="true",
    )

    assert saved.status_code == 200
    html = saved.content.decode()
    assert "Honest Friends" in html and 'id="approve"' in html
    chat.refresh_from_db()
    assert chat.state == Chat.State.CARD_PROPOSED


def test_the_chat_page_offers_to_write_the_card_by_hand_once_the_participant_answered(
    alice_client, chat
):
    html = alice_client.get(reverse("elicitation:chat", args=[chat.pk])).content.decode()
    assert "Or write the card yourself" in html and 'name="policies"' in html
    assert LLMCall.objects.count() == 0  # offering it asks no model


# --- resuming, and whose study pays ----------------------------------------------------------


def test_a_returning_participant_resumes_their_unfinished_chat(alice, chat, scenario):
    again = chat_start(participant=alice, scenario=scenario, client_key="other-browser")
    assert again.pk == chat.pk and Chat.objects.count() == 1
    card_edit(chat=chat, **CARD)
    card_approve(chat=chat)
    assert chat_start(participant=alice, scenario=scenario).pk != chat.pk  # a new card


def test_interview_calls_are_booked_to_the_participants_study(
    alice, rita, chat, scenario, llm_double
):
    study = study_create(
        created_by=rita,
        slug="s-paid",
        title="S",
        completion_code="DONE",
        tasks=[
            {
                "kind": "elicitation",
                "title": "Interview",
                "config": {"deliberation": scenario.deliberation.name},
            }
        ],
    )
    Participation.objects.create(study=study, user=alice)
    llm_double.reply("When did that matter to you?").reply_json(CARD)

    chat_reply(chat=chat)
    write(chat)

    assert {call.study_id for call in LLMCall.objects.all()} == {study.pk}
    assert LLMCall.objects.count() == 2


def test_a_reply_stopped_mid_sentence_is_stored_up_to_its_last_sentence(chat, llm_double):
    llm_double.reply("What did you notice then? I wonder whether you felt th")

    reply, _, failure = chat_reply(chat=chat)

    assert failure is None and reply.text == "What did you notice then?"
