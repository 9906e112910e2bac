"""The interview, to an approved card, against each server; and servers that fail mid-turn.

Nothing a participant wrote is ever lost: their message is stored before any LLM call and stays
waiting for its answer whatever the server does.
"""

import pytest

from core.models import LLMCall
from elicitation.models import Chat, Message
from elicitation.services.cards import card_approve
from elicitation.services.interviews import chat_reply, chat_start, message_post
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD, QUESTIONS, script_interview
from tests.llm_double import OpenAIDouble

pytestmark = pytest.mark.django_db


@pytest.fixture
def scenario():
    return ScenarioFactory(question="Should I tell my friend the truth about her business plan?")


def say(chat, text):
    message_post(chat=chat, text=text)
    return chat_reply(chat=chat)


def test_an_interview_reaches_an_approved_card_on_every_server(alice, scenario, llm_server):
    script_interview(llm_server)
    chat = chat_start(participant=alice, scenario=scenario)

    replies = [say(chat, text)[0] for text in ("Honesty", "My sister once", "Her own words")]
    chat.refresh_from_db()
    card = card_approve(chat=chat)

    assert [r.text for r in replies[:2]] == QUESTIONS
    assert (card.title, card.policies) == (CARD["title"], CARD["policies"])
    assert Chat.objects.get().state == Chat.State.APPROVED
    assert not LLMCall.objects.exclude(outcome="ok").exists()


def test_a_server_dropping_the_stream_keeps_the_message_and_the_next_try_answers(
    alice, scenario, llm_double
):
    chat = chat_start(participant=alice, scenario=scenario)
    llm_double.drop_stream("Tell me more about that moment please", after=2)
    llm_double.reply(QUESTIONS[0])

    reply, _, failure = say(chat, "Honesty matters")

    assert reply is None and failure is not None
    assert "cannot be reached" in failure.text
    assert Message.objects.filter(role="user", text="Honesty matters").exists()
    reply, _, failure = chat_reply(chat=chat)  # "Try again"
    assert failure is None and reply.text == QUESTIONS[0]


def test_an_empty_stream_is_a_failure_not_a_blank_reply(alice, scenario, llm_double):
    chat = chat_start(participant=alice, scenario=scenario)
    llm_double.empty_stream().empty_stream()

    reply, _, failure = say(chat, "Honesty matters")

    assert reply is None and failure is not None
    assert Message.objects.filter(role="assistant").count() == 1  # only the opening message
    assert LLMCall.objects.get(purpose="elicitation.interview").outcome == "invalid"


def test_a_long_interview_on_a_small_context_server_is_trimmed_not_stuck(alice, scenario, settings):
    with OpenAIDouble(profile="llama-cpp-python", context_tokens=1500) as double:
        settings.OPENAI_BASE_URL = double.url
        chat = chat_start(participant=alice, scenario=scenario)
        for number in range(12):
            double.reply(f"Question {number}: and what did you notice then?")
            _, _, failure = say(chat, f"Answer {number}: " + "I kept noticing things. " * 12)
            assert failure is None, failure.text
        sent = double.chat_requests[-1]["messages"]
        refusals = list(double.refusals)

    assert sent[0]["role"] == "system" and scenario.question in sent[0]["content"]
    assert sent[1]["role"] == "assistant"  # the scenario as presented
    assert sent[-1]["content"].startswith("Answer 11")
    assert "context" in refusals and len(sent) < 2 + 23  # the server refused once; then trimmed
    assert Message.objects.filter(chat=chat, role="user").count() == 12  # nothing lost


def test_a_native_tool_call_submits_the_card_where_the_server_takes_tools(
    alice, scenario, llm_double
):
    chat = chat_start(participant=alice, scenario=scenario)
    llm_double.reply_tool_call("submit_values_card", {})
    llm_double.reply_json(CARD)

    reply, card, failure = say(chat, "Her own words, always")

    assert failure is None and card is not None and card.title == CARD["title"]
    assert "[[" not in reply.text
    interview_request = llm_double.chat_requests[0]
    assert interview_request["tools"][0]["function"]["name"] == "submit_values_card"
    assert interview_request["tool_choice"] == "auto"


def test_a_server_refusing_tools_is_asked_without_them_and_the_marker_still_works(
    alice, scenario, settings
):
    with OpenAIDouble(profile="vllm") as double:
        settings.OPENAI_BASE_URL = double.url
        script_interview(double, turns=1)
        chat = chat_start(participant=alice, scenario=scenario)
        first, _, _ = say(chat, "Honesty")
        _, card, failure = say(chat, "My sister")
        with_tools = [("tools" in r) for r in double.chat_requests if r.get("stream")]

    assert first.text == QUESTIONS[0]
    assert failure is None and card is not None
    # Refused once (vLLM without --enable-auto-tool-choice), then never offered again.
    assert with_tools == [True, False, False]
    assert double.refusals.count("auto_tools") == 1
