"""The OpenAI double itself: what other apps' tests rely on when they script it."""

import json

import openai
import pytest

from core.llm.double import DEFAULT_REPLY, OpenAIDouble, hashed_embedding, schema_default


@pytest.fixture
def client():
    with OpenAIDouble() as double:
        yield double, openai.OpenAI(base_url=double.url, api_key="k", max_retries=0)


def test_replies_are_answered_in_order_then_the_default(client):
    double, api = client
    double.reply("first").reply("second")

    texts = [
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        .choices[0]
        .message.content
        for _ in range(3)
    ]

    assert texts == ["first", "second", DEFAULT_REPLY]
    assert double.pending() == 0
    assert [r.path for r in double.requests] == ["/v1/chat/completions"] * 3


def test_an_unscripted_json_schema_request_gets_a_value_that_fits_the_schema(client):
    double, api = client
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 5},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "score": {"type": "integer", "minimum": 3},
        },
        "required": ["title", "tags", "score"],
    }

    reply = api.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "card"}],
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )

    assert json.loads(reply.choices[0].message.content) == {
        "title": "scrip",
        "tags": ["scripted default", "scripted default 2"],
        "score": 3,
    }


def test_a_tool_call_reply_carries_the_arguments(client):
    double, api = client
    double.reply_tool_call("save_card", {"title": "Care"})

    message = (
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        .choices[0]
        .message
    )

    assert message.tool_calls[0].function.name == "save_card"
    assert json.loads(message.tool_calls[0].function.arguments) == {"title": "Care"}


def test_a_failure_answers_the_next_post_whatever_its_endpoint(client):
    double, api = client
    double.fail(status=503)

    with pytest.raises(openai.InternalServerError):
        api.embeddings.create(model="e", input=["a"])
    assert len(api.embeddings.create(model="e", input=["a"]).data[0].embedding) == 64


def test_models_are_listed(client):
    _, api = client
    assert [m.id for m in api.models.list()] == ["double-chat", "double-embedding"]


def test_hashed_embeddings_are_unit_vectors_and_deterministic():
    vector = hashed_embedding("Honesty matters")
    assert vector == hashed_embedding("honesty   MATTERS")
    assert abs(sum(x * x for x in vector) - 1) < 1e-9


def test_schema_defaults_follow_refs_and_enums():
    schema = {
        "$defs": {"Mood": {"enum": ["calm", "busy"]}},
        "type": "object",
        "properties": {"mood": {"$ref": "#/$defs/Mood"}, "note": {"type": ["string", "null"]}},
    }
    assert schema_default(schema) == {"mood": "calm", "note": "scripted default"}
