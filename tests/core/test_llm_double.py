"""The OpenAI double itself: what other apps' tests rely on when they script it."""

import json

import openai
import pytest

from tests.llm_double import DEFAULT_REPLY, OpenAIDouble, hashed_embedding, schema_default


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


def test_it_runs_by_hand_with_a_profile_and_prints_its_url():
    """``python -m tests.llm_double --profile X --port N``, no Django settings needed."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_double", "--profile", "llama-cpp-python", "--port", "0"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = server.stdout.readline()
        assert "llama-cpp-python" in first, first + server.stdout.read()
        url = re.search(r"http://127\.0\.0\.1:\d+/v1", first).group(0)
        assert f"OPENAI_BASE_URL={url}" in server.stdout.readline()
        api = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError, match="'text' or 'json_object'"):
            api.chat.completions.create(  # that server's quirk, from the profile
                model="m",
                messages=[{"role": "user", "content": "hi"}],
                response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_no_production_module_imports_the_double():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    production = []
    for top in root.iterdir():  # not into the virtualenv, git, tests or benches
        if top.name.startswith(".") or top.name in {"tests", "bench", "var", "node_modules"}:
            continue
        production += top.rglob("*.py") if top.is_dir() else [top] if top.suffix == ".py" else []
    assert production
    importers = [
        str(path.relative_to(root))
        for path in production
        if "llm_double" in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert importers == []
