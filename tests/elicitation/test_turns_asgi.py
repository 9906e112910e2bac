"""The API's turn, its card write and the page's "write my card now" as the production server
(ASGI) serves them: the LLM part runs in a turn slot (elicitation.streaming.turn_view), with the
same answers as before, failures included."""

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import ThreadSensitiveContext, async_to_sync
from django.http import HttpResponse
from django.test import AsyncClient

from elicitation import streaming
from elicitation.models import Chat
from elicitation.services.interviews import chat_start
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD, QUESTIONS

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(alice, llm_double):
    return chat_start(participant=alice, scenario=ScenarioFactory())


@pytest.fixture
def client(alice):
    client = AsyncClient()
    client.force_login(alice)
    return client


def _post(client, url, data=None, **extra):
    async def run():
        if data is None:
            return await client.post(url, **extra)
        return await client.post(url, json.dumps(data), content_type="application/json", **extra)

    return async_to_sync(run)()


def test_the_api_turn_and_card_write_answer_as_before(client, chat, llm_double):
    llm_double.reply(QUESTIONS[0])
    messages = f"/api/elicitation/chats/{chat.pk}/messages/"

    turn = _post(client, messages, {"text": "Honesty matters to me."})

    assert turn.status_code == 200
    assert turn.json() == {"reply": QUESTIONS[0], "card": None, "state": "open", "notice": None}
    llm_double.reply_tool_call("submit_values_card", CARD)
    card = _post(client, f"/api/elicitation/chats/{chat.pk}/card/write/")
    assert card.status_code == 200
    assert card.json()["title"] == CARD["title"]
    assert Chat.objects.get(pk=chat.pk).state == Chat.State.CARD_PROPOSED


def test_an_outage_during_the_api_turn_is_still_a_503_with_words(client, chat, llm_double):
    llm_double.fail(status=503, times=2)  # the try and its one retry

    response = _post(client, f"/api/elicitation/chats/{chat.pk}/messages/", {"text": "Hello"})

    assert response.status_code == 503
    assert "cannot be reached" in response.json()["detail"]
    assert chat.messages.filter(role="user").count() == 1  # the message is kept
    assert b"Traceback" not in response.content


def test_a_card_that_cannot_be_written_is_a_502_naming_the_card(client, chat, llm_double, settings):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 1
    _post(client, f"/api/elicitation/chats/{chat.pk}/messages/", {"text": "Honesty"})
    llm_double.malformed()

    response = _post(client, f"/api/elicitation/chats/{chat.pk}/card/write/")

    assert response.status_code == 502
    assert "could not be written" in response.json()["card"][0]


def test_the_pages_write_my_card_now_answers_its_fragment(client, chat, llm_double):
    llm_double.reply(QUESTIONS[0])
    _post(client, f"/api/elicitation/chats/{chat.pk}/messages/", {"text": "Honesty"})
    llm_double.reply_tool_call("submit_values_card", CARD)

    response = _post(
        client, f"/elicitation/chats/{chat.pk}/card/write/", headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert CARD["title"] in response.content.decode()
    assert "HX-Request" in response["Vary"]  # set on the response made in the turn slot


def test_turns_beyond_the_slots_wait_on_the_event_loop_while_other_requests_go_on(settings):
    settings.VALUELAB_TURNS_PER_WORKER = 2
    active, peak, lock = [0], [0], threading.Lock()

    def llm_part():  # a slow LLM, in the request's thread
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        return HttpResponse("reply")

    async def request():
        async with ThreadSensitiveContext():  # as Django's ASGI handler serves each request
            return await streaming.run_turn(llm_part)

    async def main():
        started = time.monotonic()
        turns = [asyncio.ensure_future(request()) for _ in range(6)]
        ticks = 0
        while not all(turn.done() for turn in turns):  # the event loop is free meanwhile
            await asyncio.sleep(0.01)
            ticks += 1
        replies = await asyncio.gather(*turns)
        return ticks, time.monotonic() - started, replies

    # On a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        ticks, took, replies = thread.submit(asyncio.run, main()).result()

    assert [r.content for r in replies] == [b"reply"] * 6
    assert peak[0] == 2  # two LLM calls at a time; four turns waited, no thread busy for them
    assert ticks >= 10  # other requests' work went on while the turns waited
    assert took >= 0.85  # three rounds of two
