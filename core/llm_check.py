"""The LLM check job: try each kind of gateway call once and report what works.

Researchers run it from their home page after pointing ValueLab at an endpoint; it is also the
job CI runs through a real worker. Besides chat, streaming, a tiny structured answer and
embeddings, it runs the structured calls the apps depend on, which apps register with
``register_check`` from their ``AppConfig.ready`` (core imports no app): elicitation's values
card, for one. The result says, for the endpoint, which structured-output mode it ended up
with, the shape and dimension of its embeddings and the context size in use.
"""

import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from core import llm
from core.jobs import JobFailed, JobProgress, job_key, job_start, job_type
from core.models import Job, User

KIND = "core.llm_check"


class CheckAnswer(BaseModel):
    """The structured-output probe: a tiny schema any model can fill."""

    answer: str = Field(max_length=40)
    confident: bool


PROMPT = [{"role": "user", "content": "Reply with one short sentence: what is 2 + 2?"}]
SHORT = llm.Generation(max_tokens=24)  # the check needs a reply, not an essay


def _chat(user) -> str:
    return llm.chat(PROMPT, purpose="core.llm_check", user=user, ask=SHORT).text


def _stream(user) -> str:
    return "".join(llm.chat_stream(PROMPT, purpose="core.llm_check", user=user, ask=SHORT))


def _structured(user) -> str:
    reply = llm.structured(
        [{"role": "user", "content": "What is 2 + 2? Answer in JSON with answer and confident."}],
        schema=CheckAnswer,
        purpose="core.llm_check",
        user=user,
    )
    return reply.model_dump_json()


def _embed(user) -> str:
    vectors = llm.embed(["kindness", "honesty"], purpose="core.llm_check", user=user)
    shape = llm.endpoint_report().get("embedding_shape")
    how = " (one row per token, mean-pooled)" if shape == "per_token" else ""
    return f"{len(vectors)} vectors of {len(vectors[0])} dimensions{how}"


STEPS: list[tuple[str, Callable]] = [
    ("chat", _chat),
    ("streaming", _stream),
    ("structured", _structured),
    ("embeddings", _embed),
]
APP_STEPS: list[tuple[str, Callable]] = []


def register_check(name: str, step: Callable) -> None:
    """Add an app's step to the check: ``step(user)`` returns a short text or raises LLMError."""
    if all(existing != name for existing, _ in APP_STEPS):
        APP_STEPS.append((name, step))


@job_type(KIND, title="Check the LLM")
def run_llm_check(job: Job, progress: JobProgress) -> dict:
    """Call the gateway once per kind of call; fail the job, naming the steps, if any failed."""
    all_steps = STEPS + APP_STEPS
    progress.update(done=0, total=len(all_steps), message=f"Checking the {llm.backend_name()} LLM")
    steps = []
    for number, (name, step) in enumerate(all_steps, start=1):
        started = time.monotonic()
        try:
            output, error = step(job.created_by), ""
        except llm.LLMError as exc:
            output, error = "", str(exc)
        steps.append(
            {
                "step": name,
                "ok": not error,
                "seconds": round(time.monotonic() - started, 2),
                "output": output[:200],
                "error": error,
            }
        )
        progress.update(done=number, message=f"Checked {name}")
    result = {"backend": llm.backend_name(), "steps": steps, "endpoint": llm.endpoint_report()}
    if not all(step["ok"] for step in steps):
        details = "; ".join(f"{s['step']}: {s['error']}" for s in steps if not s["ok"])
        raise JobFailed(f"These LLM calls failed: {details}", result=result)
    return result


def llm_check_start(*, created_by: User, token: str | None) -> Job:
    """Start the LLM check for ``user``; the same one-time ``token`` starts it once."""
    return job_start(
        kind=KIND,
        created_by=created_by,
        idempotency_key=job_key("llm-check", created_by.pk, token=token),
    )
