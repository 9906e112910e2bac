"""Interviews through the services against the scripted LLM double: resumable, never duplicated."""

import pytest
from django.core.exceptions import ValidationError

from core.models import LLMCall
from elicitation.models import Chat, Message, ValuesCard
from elicitation.selectors import cards_canonical
from elicitation.services.card_drafts import chat_card_write
from elicitation.services.cards import card_approve, card_edit
from elicitation.services.interviews import chat_reply, chat_start, chat_turn, message_post
from tests.elicitation.factories import DeliberationFactory, ScenarioFactory
from tests.elicitation.interview_script import CARD, CLOSING, script_interview

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    return ScenarioFactory(question="I am considering getting an abortion. What should I do?")


def texts(chat):
    return [(m.role, m.text) for m in chat.messages.order_by("pk")]


def test_a_chat_starts_with_the_scenario_and_stores_the_prompt_version(alice, scenario, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # an endpoint: the full interviewer
    chat = chat_start(participant=alice, scenario=scenario)

    assert (chat.prompt_name, chat.prompt_version) == ("mge-interviewer", "1")
    [(role, text)] = texts(chat)
    assert role == "assistant" and scenario.question in text
    assert LLMCall.objects.count() == 0  # presenting the scenario costs no LLM call


def test_a_double_click_on_start_makes_one_chat(alice, scenario):
    first = chat_start(participant=alice, scenario=scenario, client_key="k1")
    second = chat_start(participant=alice, scenario=scenario, client_key="k1")
    assert first.pk == second.pk
    assert Chat.objects.count() == 1 and Message.objects.count() == 1


def test_a_whole_interview_ends_in_a_proposed_card_then_an_approved_one(
    alice, scenario, llm_double
):
    script_interview(llm_double)
    chat = chat_start(participant=alice, scenario=scenario)
    for answer in ["Trust", "My aunt listened to me", "Whether I felt heard"]:
        message_post(chat=chat, text=answer)
        reply, card, failure = chat_reply(chat=chat)
        assert failure is None and reply is not None

    chat.refresh_from_db()
    assert chat.state == Chat.State.CARD_PROPOSED
    assert reply.text == CLOSING.replace("[[submit_values_card]]", "").strip()
    assert (card.title, card.policies) == (CARD["title"], CARD["policies"])
    assert (card.author, card.scenario, card.status) == (alice, scenario, "proposed")
    # The interviewer got the whole conversation, its instructions first.
    sent = llm_double.chat_requests[2]["messages"]
    assert sent[0]["role"] == "system" and sent[-1]["content"] == "Whether I felt heard"
    assert "[[submit" not in str(llm_double.chat_requests[3]["messages"])

    assert card_approve(chat=chat).status == ValuesCard.Status.APPROVED
    assert card_approve(chat=chat).pk == card.pk  # approving twice is harmless
    chat.refresh_from_db()
    assert chat.state == Chat.State.APPROVED
    with pytest.raises(ValidationError):
        message_post(chat=chat, text="one more thing")


def test_the_reply_streams_in_pieces_and_is_stored_once(alice, scenario, llm_double):
    llm_double.reply("What happened the last time you faced a choice like this?")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="I think honesty matters.")

    events = list(chat_turn(chat=chat))

    deltas = [e.text for e in events if e.kind == "delta"]
    assert len(deltas) > 5
    assert "".join(deltas) == "What happened the last time you faced a choice like this?"
    assert [e.kind for e in events][-1] == "reply"
    assert list(chat_turn(chat=chat)) == []  # answered: a reload asks nothing again
    assert len(llm_double.chat_requests) == 1


def test_a_dropped_connection_mid_reply_loses_nothing_and_the_reload_answers(
    alice, scenario, llm_double
):
    llm_double.reply("A first reply that the participant never sees in full.")
    llm_double.reply("What did you notice then?")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="It matters to me.")

    turn = chat_turn(chat=chat)
    next(turn)
    turn.close()  # the browser went away

    assert texts(chat)[-1] == ("user", "It matters to me.")
    reply, _, _ = chat_reply(chat=chat)  # the reload
    assert reply.text == "What did you notice then?"
    assert [role for role, _ in texts(chat)] == ["assistant", "user", "assistant"]


def test_a_retried_post_stores_the_message_once(alice, scenario):
    chat = chat_start(participant=alice, scenario=scenario)
    first = message_post(chat=chat, text="Hello", client_id="m-1")
    again = message_post(chat=chat, text="Hello", client_id="m-1")
    same_text = message_post(chat=chat, text="Hello")  # no id, still unanswered: a retry
    assert first.pk == again.pk == same_text.pk
    assert chat.messages.filter(role="user").count() == 1


def test_two_workers_answering_the_same_message_store_one_reply(alice, scenario, llm_double):
    llm_double.reply("First answer.").reply("Second answer.")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Hi")
    first_turn, second_turn = chat_turn(chat=chat), chat_turn(chat=chat)
    next(first_turn), next(second_turn)  # both started before either stored a reply

    list(first_turn), list(second_turn)

    replies = chat.messages.filter(role="assistant").exclude(reply_to=None)
    assert [m.text for m in replies] == ["First answer."]


@pytest.mark.parametrize("text", ["", "   ", "x" * 20_000])
def test_an_empty_or_huge_message_is_refused_and_nothing_is_sent(alice, scenario, llm_double, text):
    chat = chat_start(participant=alice, scenario=scenario)
    with pytest.raises(ValidationError) as error:
        message_post(chat=chat, text=text)
    assert "text" in error.value.message_dict
    if text.strip():
        assert "20,000 characters" in error.value.message_dict["text"][0]
        assert "4,000" in error.value.message_dict["text"][0]
    assert chat.messages.count() == 1
    assert llm_double.requests == []


def test_an_outage_says_so_keeps_the_message_and_the_next_try_answers(alice, scenario, llm_double):
    llm_double.fail(status=503, times=2)  # the first try and its one retry
    llm_double.reply("Tell me more about that.")
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Family matters.")

    reply, card, failure = chat_reply(chat=chat)

    assert reply is None and card is None
    assert "cannot be reached" in failure.text and "saved" in failure.text
    chat.refresh_from_db()
    assert chat.last_error == failure.text
    assert texts(chat)[-1] == ("user", "Family matters.")
    reply, _, failure = chat_reply(chat=chat)
    assert failure is None and reply.text == "Tell me more about that."
    chat.refresh_from_db()
    assert chat.last_error == ""


def test_a_timeout_is_an_outage_too(alice, scenario, llm_double, settings):
    settings.VALUELAB_LLM_TIMEOUT = 0.3
    settings.VALUELAB_LLM_MAX_RETRIES = 0
    llm_double.reply("too late", delay=2)
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Hello")

    reply, _, failure = chat_reply(chat=chat)

    assert reply is None
    assert "cannot be reached" in failure.text
    assert LLMCall.objects.get().outcome == "timeout"
    assert chat.messages.count() == 2


def test_a_participant_over_budget_is_told_and_loses_nothing(alice, scenario, llm_double, settings):
    settings.VALUELAB_LLM_BUDGET = 0
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Hello")

    reply, _, failure = chat_reply(chat=chat)

    assert reply is None
    assert "today's limit" in failure.text and "come back" in failure.text
    assert llm_double.chat_requests == []
    assert texts(chat)[-1] == ("user", "Hello")


def test_a_malformed_card_is_retried_then_the_chat_says_so_and_can_try_again(
    alice, scenario, llm_double, settings
):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 2
    llm_double.reply(CLOSING)
    llm_double.malformed().malformed()
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Being heard.")

    reply, card, failure = chat_reply(chat=chat)

    assert reply is not None and card is None
    assert "could not be written" in failure.text
    chat.refresh_from_db()
    assert chat.state == Chat.State.FAILED and chat.card is None
    assert len(llm_double.chat_requests) == 3  # the turn, then the card twice
    assert ValuesCard.objects.count() == 0

    llm_double.reply_tool_call("submit_values_card", CARD)
    [event] = list(chat_card_write(chat=chat))
    assert event.kind == "card" and event.card.title == CARD["title"]
    chat.refresh_from_db()
    assert chat.state == Chat.State.CARD_PROPOSED and chat.last_error == ""
    assert [role for role, _ in texts(chat)] == ["assistant", "user", "assistant"]


def test_asking_for_changes_in_words_rewrites_the_card(alice, scenario, llm_double):
    script_interview(llm_double, turns=0)
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Being heard.")
    _, card, _ = chat_reply(chat=chat)
    llm_double.reply_tool_call("submit_values_card", {**CARD, "title": "Being Truly Heard"})

    message_post(chat=chat, text="Call it Being Truly Heard")
    reply, revised, failure = chat_reply(chat=chat)

    assert failure is None and revised.pk == card.pk
    assert revised.title == "Being Truly Heard"
    assert "changed the card" in reply.text
    assert "Call it Being Truly Heard" in str(llm_double.chat_requests[-1]["messages"])


def test_editing_the_card_validates_each_field(alice, scenario, llm_double):
    script_interview(llm_double, turns=0)
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Being heard.")
    chat_reply(chat=chat)

    with pytest.raises(ValidationError) as error:
        card_edit(chat=chat, title=" ", description="Fine.", policies=["bad"])
    assert set(error.value.message_dict) == {"title", "policies"}

    card = card_edit(
        chat=chat,
        title="My Own Words",
        description="<b>Listen</b> first.",
        policies=CARD["policies"] + ["", "  "],
    )
    card.refresh_from_db()
    assert (card.title, card.description) == ("My Own Words", "<b>Listen</b> first.")
    assert card.policies == CARD["policies"]


def test_a_participant_can_write_a_second_card(alice, scenario, llm_double):
    for _ in range(2):
        script_interview(llm_double, turns=0)
        chat = chat_start(participant=alice, scenario=scenario)
        message_post(chat=chat, text="Being heard.")
        chat_reply(chat=chat)
        card_approve(chat=chat)
    assert ValuesCard.objects.filter(author=alice, status="approved").count() == 2


def test_a_closed_deliberation_takes_no_new_interviews(alice):
    scenario = ScenarioFactory(deliberation=DeliberationFactory(is_open=False))
    with pytest.raises(ValidationError):
        chat_start(participant=alice, scenario=scenario)


def test_a_proposed_card_is_no_value_until_its_author_approves_it(alice, scenario, llm_double):
    script_interview(llm_double, turns=0)
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Being heard.")
    _, card, _ = chat_reply(chat=chat)
    assert list(cards_canonical(deliberation=scenario.deliberation)) == []

    card_approve(chat=chat)
    assert list(cards_canonical(deliberation=scenario.deliberation)) == [card]
