"""The interview's stream as the production server (ASGI, uvicorn workers) serves it.

Under ASGI the events are an async iterator driven by the event loop, so a turn waiting for a
slow LLM holds no server thread (elicitation.streaming); the participant sees the same events.
"""

import asyncio
import contextlib

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.urls import reverse

from core.models import LLMCall
from elicitation.models import Message
from elicitation.services.interviews import chat_start
from tests.elicitation.factories import ScenarioFactory

pytestmark = pytest.mark.django_db

QUESTION = "What did you notice in that moment?"


@pytest.fixture
def chat(alice, llm_double):
    return chat_start(participant=alice, scenario=ScenarioFactory())


@pytest.fixture
def client(alice):
    client = AsyncClient()
    client.force_login(alice)
    return client


def _url(chat):
    return reverse("elicitation:chat_stream", args=[chat.pk])


def test_the_reply_streams_from_the_event_loop_in_pieces(client, chat, llm_double):
    llm_double.reply(QUESTION)

    async def run():
        response = await client.post(_url(chat), {"text": "Honesty matters to me."})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/event-stream")
        assert response.is_async  # streamed by the event loop, not by a server thread
        return [chunk.decode() async for chunk in response.streaming_content]

    chunks = async_to_sync(run)()

    deltas = [c for c in chunks if c.startswith("event: delta")]
    assert len(deltas) > 3  # piece by piece, as the model writes
    assert any(c.startswith("event: reply") and QUESTION in c for c in chunks)
    assert chunks[-1].startswith("event: end")
    assert [m.role for m in chat.messages.order_by("pk")] == ["assistant", "user", "assistant"]


def test_a_stream_dropped_while_the_llm_answers_keeps_the_message_and_the_retry_answers(
    client, chat, llm_double, alice_client
):
    llm_double.reply("A reply nobody reads.", delay=0.5)
    llm_double.reply(QUESTION)

    async def drop():
        response = await client.post(_url(chat), {"text": "Honesty matters to me."})
        chunks = aiter(response._iterator)  # the events themselves, as the server reads them
        await anext(chunks)  # the stream is open: the message is stored
        waiting = asyncio.ensure_future(anext(chunks))  # the LLM is still thinking...
        await asyncio.sleep(0.1)
        waiting.cancel()  # ...when the browser goes away (the server cancels the response)
        with contextlib.suppress(asyncio.CancelledError):
            await waiting

    async_to_sync(drop)()

    assert [(m.role, m.text) for m in chat.messages.order_by("pk")][1:] == [
        ("user", "Honesty matters to me.")
    ]
    stopped = LLMCall.objects.get(purpose="elicitation.interview")
    assert "stopped reading" in stopped.error  # the model was stopped, not left running
    # The participant presses "Try again" (a post without text answers the waiting message).
    retry = alice_client.post(_url(chat))
    assert QUESTION in b"".join(retry.streaming_content).decode()
    assert Message.objects.filter(chat=chat, role="assistant").last().text == QUESTION
