"""The interview pages: picker, chat, streamed replies, the card's edit and approve forms."""

import json

import pytest
from django.urls import reverse

from core.models import Participation
from core.selectors import participation_task_states
from core.services import study_create
from elicitation.models import Chat, Message
from elicitation.services.cards import card_approve
from elicitation.services.interviews import chat_reply, chat_start, message_post
from tests.elicitation.factories import DeliberationFactory, ScenarioFactory
from tests.elicitation.interview_script import CARD, script_interview

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def scenario():
    return ScenarioFactory(question="Should I forgive my brother?")


def events_of(response) -> list[tuple[str, dict]]:
    body = b"".join(response.streaming_content).decode()
    events = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def stream(client, chat, **data):
    return client.post(reverse("elicitation:chat_stream", args=[chat.pk]), data)


def test_alice_picks_a_scenario_and_the_chat_presents_it(alice_client, alice, scenario):
    closed = ScenarioFactory(
        question="A closed one?", deliberation=DeliberationFactory(is_open=False)
    )
    page = alice_client.get(reverse("elicitation:scenarios"))
    assert scenario.question in page.content.decode()
    assert closed.question not in page.content.decode()

    url = reverse("elicitation:chat_begin", args=[scenario.pk])
    response = alice_client.post(url, {"key": "abc"})
    alice_client.post(url, {"key": "abc"})  # a double click

    chat = Chat.objects.get()
    assert response.url == reverse("elicitation:chat", args=[chat.pk])
    page = alice_client.get(response.url).content.decode()
    assert "Should I forgive my brother?" in page
    assert "good response should consider" in page
    assert alice_client.post(reverse("elicitation:chat_begin", args=[closed.pk])).status_code == 404


def test_a_reply_streams_as_events_and_is_stored(alice_client, alice, scenario, llm_double):
    llm_double.reply("When did forgiving someone matter to you?")
    chat = chat_start(participant=alice, scenario=scenario)

    response = stream(alice_client, chat, text="It depends.", client_id="c1")

    assert response["Content-Type"].startswith("text/event-stream")
    events = events_of(response)
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 3 and "".join(deltas) == "When did forgiving someone matter to you?"
    assert [name for name, _ in events][-2:] == ["reply", "end"]
    assert [m.text for m in chat.messages.order_by("pk")][1:] == [
        "It depends.",
        "When did forgiving someone matter to you?",
    ]
    # The same post again (a retry) stores nothing and asks the model nothing.
    assert [
        n for n, _ in events_of(stream(alice_client, chat, text="It depends.", client_id="c1"))
    ] == ["end"]
    assert len(llm_double.chat_requests) == 1


def test_a_too_long_message_is_refused_with_the_limit_and_nothing_is_sent(
    alice_client, alice, scenario, llm_double
):
    chat = chat_start(participant=alice, scenario=scenario)
    response = stream(alice_client, chat, text="x" * 20_000)
    assert response.status_code == 400
    assert "limit is 4,000" in response.json()["text"][0]
    assert stream(alice_client, chat, text="  ").json() == {
        "text": ["Write a message before sending."]
    }
    assert llm_double.requests == [] and chat.messages.count() == 1


def test_an_outage_shows_a_message_and_the_reload_answers(
    alice_client, alice, scenario, llm_double
):
    llm_double.fail(status=500, times=2).reply("Tell me about a time that happened.")
    chat = chat_start(participant=alice, scenario=scenario)

    events = events_of(stream(alice_client, chat, text="Hi"))
    assert ("error", {"text": events[0][1]["text"]}) == events[0]
    assert "cannot be reached" in events[0][1]["text"]
    page = alice_client.get(reverse("elicitation:chat", args=[chat.pk])).content.decode()
    assert "cannot be reached" in page and 'id="retry"' in page

    events = events_of(stream(alice_client, chat))  # "Try again": answer what is waiting
    assert any(name == "reply" for name, _ in events)
    assert chat.messages.filter(role="user").count() == 1


def test_the_whole_interview_shows_the_card_then_approves_it(
    alice_client, alice, scenario, llm_double
):
    script_interview(llm_double, turns=1)
    chat = chat_start(participant=alice, scenario=scenario)
    events_of(stream(alice_client, chat, text="Honesty"))
    events = events_of(stream(alice_client, chat, text="My brother lied once"))
    # While the model writes the card (minutes on a small local model) the page says so.
    assert [name for name, _ in events if name != "delta"] == ["reply", "status", "card", "end"]
    assert "Writing your card" in dict(events)["status"]["text"]
    card_html = dict((n, d) for n, d in events)["card"]["html"]
    assert CARD["title"] in card_html and "Approve this card" in card_html

    approve = reverse("elicitation:card_approve", args=[chat.pk])
    assert alice_client.post(approve).status_code == 302
    assert alice_client.post(approve, HTTP_HX_REQUEST="true").status_code == 204  # twice: fine
    chat.refresh_from_db()
    assert chat.state == "approved" and chat.card.status == "approved"
    page = alice_client.get(reverse("elicitation:chat", args=[chat.pk])).content.decode()
    assert "Your approved card" in page and 'id="composer"' not in page


def test_editing_the_card_shows_errors_per_field_then_saves(
    alice_client, alice, scenario, llm_double
):
    script_interview(llm_double, turns=0)
    chat = chat_start(participant=alice, scenario=scenario)
    events_of(stream(alice_client, chat, text="Being heard"))
    url = reverse("elicitation:card_update", args=[chat.pk])

    bad = alice_client.post(
        url,
        {"title": "X", "description": "Fine.", "policies": ["lowercase only"]},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'id="err-title"' in html and 'id="err-policies"' in html
    assert 'id="err-description"' not in html
    assert "lowercase only" in html  # what they typed is kept

    good = alice_client.post(
        url,
        {"title": "Listen First", "description": XSS, "policies": CARD["policies"]},
        HTTP_HX_REQUEST="true",
    )
    assert good.status_code == 200
    html = good.content.decode()
    assert "Listen First" in html and "Saved." in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    chat.refresh_from_db()
    assert chat.card.description == XSS  # kept as written, shown as text


def test_html_in_messages_and_cards_is_shown_as_text(alice_client, alice, scenario, llm_double):
    llm_double.reply(f"Interesting: {XSS}")
    chat = chat_start(participant=alice, scenario=scenario)
    events_of(stream(alice_client, chat, text=XSS))
    chat.card = None
    page = alice_client.get(reverse("elicitation:chat", args=[chat.pk])).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_bob_cannot_see_or_post_to_alices_chat(bob_client, alice, scenario, llm_double):
    chat = chat_start(participant=alice, scenario=scenario)
    assert bob_client.get(reverse("elicitation:chat", args=[chat.pk])).status_code == 404
    assert stream(bob_client, chat, text="hi").status_code == 404
    approve = reverse("elicitation:card_approve", args=[chat.pk])
    assert bob_client.post(approve).status_code == 404
    assert Message.objects.filter(role="user").count() == 0


def test_visitors_are_sent_to_sign_in_and_researchers_only_preview(rita_client, anon, scenario):
    assert anon.get(reverse("elicitation:scenarios")).status_code == 302
    preview = rita_client.get(reverse("elicitation:scenarios")).content.decode()
    assert "Nothing you do here is stored" in preview and scenario.question in preview
    begin = reverse("elicitation:chat_begin", args=[scenario.pk])
    assert rita_client.post(begin).status_code == 302  # to sign in: no interview starts
    assert not Chat.objects.exists()


def test_a_study_task_completes_once_the_participant_approves_a_card(
    alice, rita, scenario, llm_double
):
    study = study_create(
        created_by=rita,
        slug="s1",
        title="S1",
        completion_code="DONE1",
        tasks=[
            {
                "kind": "elicitation",
                "title": "Interview",
                "config": {"deliberation": scenario.deliberation.name},
            }
        ],
    )
    participation = Participation.objects.create(study=study, user=alice)
    [state] = participation_task_states(participation=participation)
    assert not state.done and scenario.deliberation.name in state.url

    script_interview(llm_double, turns=0)
    chat = chat_start(participant=alice, scenario=scenario)
    message_post(chat=chat, text="Being heard")
    chat_reply(chat=chat)
    card_approve(chat=chat)
    [state] = participation_task_states(participation=participation)
    assert state.done


def test_a_study_can_name_the_one_scenario_to_talk_about(alice_client, scenario):
    other = ScenarioFactory(deliberation=scenario.deliberation, question="Another question?")
    url = reverse("elicitation:scenarios")
    page = alice_client.get(url, {"scenario": scenario.pk}).content.decode()
    assert scenario.question in page and other.question not in page


def test_asking_for_changes_in_words_on_the_page_rewrites_the_card(
    alice_client, alice, scenario, llm_double
):
    script_interview(llm_double, turns=0)
    chat = chat_start(participant=alice, scenario=scenario)
    events_of(stream(alice_client, chat, text="Being heard"))
    llm_double.reply_tool_call("submit_values_card", {**CARD, "title": "Being Truly Heard"})

    events = events_of(stream(alice_client, chat, text="Please call it Being Truly Heard"))

    names = [name for name, _ in events]
    assert names == ["reply", "card", "end"]
    assert "Being Truly Heard" in dict(events)["card"]["html"]
    assert "changed the card" in dict(events)["reply"]["text"]
    chat.refresh_from_db()
    assert chat.state == "card_proposed" and chat.card.title == "Being Truly Heard"
