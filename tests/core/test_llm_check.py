"""'Check the LLM' against each server: every step, the app's values card, and what it uses."""

import pytest

from core.job_worker import job_execute
from core.jobs import job_start
from core.models import Job

pytestmark = pytest.mark.django_db

VALID_CARD = {
    "title": "Listening before advising",
    "description": "A good answer listens first and notices what the grieving person needs.",
    "policies": [
        "MOMENTS when she wants to be left alone",
        "SIGNS that she is ready to talk about her mother",
        "QUESTIONS that let her lead the conversation",
    ],
}
EXPECTED = {
    "openai": ("json_schema", "flat"),
    "llama-server": ("json_schema", "flat"),
    "vllm": ("json_schema", "flat"),
    "ollama": ("json_schema", "flat"),
    "llama-cpp-python": ("json_object", "per_token"),
}


def script_check(double) -> None:
    double.reply("Four.").reply("It is four.").reply_json({"answer": "4", "confident": True})
    double.reply_json(VALID_CARD)


def run_check(user) -> Job:
    job = job_start(kind="core.llm_check", created_by=user)
    job_execute(str(job.pk), retries=0)
    job.refresh_from_db()
    return job


def test_the_check_passes_on_every_server_and_says_what_it_uses(llm_server, rita):
    script_check(llm_server)

    job = run_check(rita)

    assert job.status == Job.Status.SUCCEEDED, job.error
    steps = {step["step"]: step for step in job.result["steps"]}
    assert list(steps) == [
        "chat",
        "streaming",
        "structured",
        "embeddings",
        "values card (the interview's)",
    ]
    assert steps["values card (the interview's)"]["output"] == (
        "“Listening before advising” with 3 policies"
    )
    report = job.result["endpoint"]
    mode, shape = EXPECTED[llm_server.profile.name]
    assert (report["structured_mode"], report["embedding_shape"]) == (mode, shape)
    assert report["embedding_dimensions"] == 64
    if shape == "per_token":
        assert "mean-pooled" in steps["embeddings"]["output"]
    assert "2 vectors of 64 dimensions" in steps["embeddings"]["output"]


def test_the_check_page_shows_the_structured_mode_and_embedding_shape(settings, rita, rita_client):
    from tests.llm_double import OpenAIDouble

    with OpenAIDouble(profile="llama-cpp-python") as double:
        settings.OPENAI_BASE_URL = double.url
        script_check(double)
        job = run_check(rita)

    page = rita_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "json_object with the schema (the server refused json_schema)" in page
    assert "one row per token, mean-pooled into one vector · 64 dimensions" in page
    assert "Traceback" not in page and "site-packages" not in page


def test_a_server_that_garbles_embeddings_fails_the_check_with_a_clear_step(
    llm_double, rita, monkeypatch
):
    from tests import llm_double as double_module

    monkeypatch.setattr(double_module, "hashed_embedding", lambda text, d=64: [0.1] * len(text))
    script_check(llm_double)

    job = run_check(rita)

    assert job.status == Job.Status.FAILED
    assert "embeddings:" in job.error and "different dimensions" in job.error
