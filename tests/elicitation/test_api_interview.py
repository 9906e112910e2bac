"""The interview API, as scripts use it (contracts.md "The interview")."""

import pytest

from core.models import LLMCall
from elicitation.models import Chat, Message
from tests.elicitation.factories import (
    DeliberationFactory,
    MoralContextFactory,
    ScenarioFactory,
)
from tests.elicitation.interview_script import CARD, QUESTIONS, script_interview

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"


@pytest.fixture
def scenario():
    return ScenarioFactory(question="Should I tell my friend the truth?")


def start(client, scenario):
    return client.post("/api/elicitation/chats/", {"scenario": scenario.pk}, format="json")


def say(client, chat_id, text, **extra):
    return client.post(
        f"/api/elicitation/chats/{chat_id}/messages/", {"text": text, **extra}, format="json"
    )


def test_participants_list_only_open_scenarios(api_for, alice, rita, scenario):
    closed = ScenarioFactory(deliberation=DeliberationFactory(is_open=False))
    data = api_for(alice).get("/api/elicitation/scenarios/").json()
    assert [s["id"] for s in data] == [scenario.pk]
    assert data[0]["question"] == "Should I tell my friend the truth?"
    assert {d["name"] for d in api_for(alice).get("/api/elicitation/deliberations/").json()} == {
        scenario.deliberation.name
    }
    researcher_view = api_for(rita).get("/api/elicitation/deliberations/").json()
    assert closed.deliberation.name in {d["name"] for d in researcher_view}


def test_contexts_are_listed_per_deliberation(api_for, alice, scenario):
    context = MoralContextFactory(deliberation=scenario.deliberation, text="When in distress")
    MoralContextFactory(deliberation=DeliberationFactory(is_open=False))
    url = f"/api/elicitation/contexts/?deliberation={scenario.deliberation.name}"
    assert api_for(alice).get(url).json() == [
        {"id": context.pk, "text": "When in distress", "deliberation": scenario.deliberation.name}
    ]
    assert len(api_for(alice).get("/api/elicitation/contexts/").json()) == 1


def test_a_whole_interview_through_the_api(api_for, alice, scenario, llm_double):
    client = api_for(alice)
    script_interview(llm_double)

    created = start(client, scenario)
    assert created.status_code == 201
    chat = created.json()
    assert set(chat) >= {"id", "messages"}
    [first] = chat["messages"]
    assert first["role"] == "assistant" and scenario.question in first["text"]

    replies = [say(client, chat["id"], text).json() for text in ["Trust", "A story", "Noticing"]]

    assert [r["reply"] for r in replies[:2]] == QUESTIONS
    assert replies[0]["card"] is None
    card = replies[2]["card"]
    assert (card["title"], card["policies"]) == (CARD["title"], CARD["policies"])
    assert card["author"] == alice.pseudonym and card["scenario"] == scenario.pk
    assert replies[2]["state"] == "card_proposed"

    approve = f"/api/elicitation/chats/{chat['id']}/card/approve/"
    assert client.post(approve).json()["id"] == card["id"]
    assert client.post(approve).json()["id"] == card["id"]
    detail = client.get(f"/api/elicitation/chats/{chat['id']}/").json()
    assert detail["state"] == "approved"
    assert detail["prompt"] == {"name": "mge-interviewer", "version": "1"}
    assert len(detail["messages"]) == 7


def test_a_malformed_card_comes_back_as_a_notice_and_can_be_retried(
    api_for, alice, scenario, llm_double, settings
):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 2
    client = api_for(alice)
    chat_id = start(client, scenario).json()["id"]
    llm_double.reply("I will write it up. [[submit_values_card]]")
    llm_double.malformed().malformed()

    data = say(client, chat_id, "Honesty").json()

    assert data["reply"] == "I will write it up."
    assert data["card"] is None and data["state"] == "failed"
    assert "could not be written" in data["notice"]
    write = f"/api/elicitation/chats/{chat_id}/card/write/"
    llm_double.malformed().malformed()
    again = client.post(write)
    assert again.status_code == 502 and "could not be written" in again.json()["card"][0]
    llm_double.reply_tool_call("submit_values_card", CARD)
    assert client.post(write).json()["title"] == CARD["title"]


def test_a_timeout_is_a_504_and_the_message_is_kept(api_for, alice, scenario, llm_double, settings):
    settings.VALUELAB_LLM_TIMEOUT = 0.3
    settings.VALUELAB_LLM_MAX_RETRIES = 0
    client = api_for(alice)
    chat_id = start(client, scenario).json()["id"]
    llm_double.reply("late", delay=2)

    response = say(client, chat_id, "Hello")

    assert response.status_code == 504
    assert "cannot be reached" in response.json()["detail"]
    llm_double.reply("What happened?")
    # Posting the same text again is a retry: answered, not stored twice.
    assert say(client, chat_id, "Hello").json()["reply"] == "What happened?"
    assert Message.objects.filter(role="user").count() == 1


def test_over_budget_is_a_429_with_words(api_for, alice, scenario, llm_double, settings):
    settings.VALUELAB_LLM_BUDGET = 0
    client = api_for(alice)
    chat_id = start(client, scenario).json()["id"]
    response = say(client, chat_id, "Hello")
    assert response.status_code == 429
    assert "today's limit" in response.json()["detail"]
    assert LLMCall.objects.get().outcome == "over_budget"


def test_a_20000_character_message_is_refused(api_for, alice, scenario, llm_double):
    client = api_for(alice)
    chat_id = start(client, scenario).json()["id"]
    response = say(client, chat_id, "y" * 20_000)
    assert response.status_code == 400
    assert "the limit is 4,000" in response.json()["text"][0]
    assert say(client, chat_id, "").status_code == 400
    assert llm_double.requests == []


def test_another_participants_chat_is_404_like_a_missing_one(
    api_for, alice, bob, rita, scenario, llm_double
):
    chat_id = start(api_for(alice), scenario).json()["id"]
    bob_client = api_for(bob)
    assert bob_client.get(f"/api/elicitation/chats/{chat_id}/").status_code == 404
    assert say(bob_client, chat_id, "hi").status_code == 404
    assert bob_client.post(f"/api/elicitation/chats/{chat_id}/card/approve/").status_code == 404
    assert bob_client.get(f"/api/elicitation/chats/{chat_id + 1000}/").status_code == 404
    assert bob_client.get("/api/elicitation/chats/").json() == []
    assert (
        api_for(rita).post("/api/elicitation/chats/", {"scenario": scenario.pk}).status_code == 403
    )
    assert api_for(None).get("/api/elicitation/scenarios/").status_code in (401, 403)
    assert Message.objects.filter(role="user").count() == 0 and llm_double.requests == []


def test_html_is_stored_and_returned_as_plain_text(api_for, alice, scenario, llm_double):
    client = api_for(alice)
    chat_id = start(client, scenario).json()["id"]
    llm_double.reply(f"You wrote {XSS}")
    assert say(client, chat_id, XSS).json()["reply"] == f"You wrote {XSS}"
    assert Message.objects.filter(text=XSS).count() == 1  # as typed, escaped only on pages


def test_editing_a_card_names_each_bad_field(api_for, alice, scenario, llm_double):
    client = api_for(alice)
    chat_id = start(client, scenario).json()["id"]
    script_interview(llm_double, turns=0)
    say(client, chat_id, "Being heard")
    url = f"/api/elicitation/chats/{chat_id}/card/"

    bad = client.put(url, {"title": "A", "description": "Fine.", "policies": []}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"title", "policies"}
    good = client.put(url, {**CARD, "title": "Heard And Seen"}, format="json")
    assert good.json()["title"] == "Heard And Seen"
    assert Chat.objects.get().card.title == "Heard And Seen"


def test_starting_twice_with_a_key_makes_one_chat(api_for, alice, scenario):
    client = api_for(alice)
    body = {"scenario": scenario.pk, "client_key": "k"}
    first = client.post("/api/elicitation/chats/", body, format="json").json()
    second = client.post("/api/elicitation/chats/", body, format="json").json()
    assert first["id"] == second["id"] and Chat.objects.count() == 1
    missing = client.post("/api/elicitation/chats/", {"scenario": 999}, format="json")
    assert missing.status_code == 400 and "scenario" in missing.json()
