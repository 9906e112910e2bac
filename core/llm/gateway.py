"""The one door to language models: pick the backend, enforce the budget, record every call.

Every call, failed or not, leaves one LLMCall row. The row is written in its own savepoint and a
database error while writing it is logged, never raised, so recording cannot break the caller;
if the caller's own transaction later rolls back, the row goes with it (keeping it would need a
second database connection, which SQLite test databases cannot share).

The participant budget counts today's (UTC) rows. Two calls that start at the same moment can
both pass the check, and a call is only counted once its row is written at the end, so a
participant with several tabs open can overshoot by the calls they have in flight: a handful
at most, which is fine for a limit that exists to stop runaway use, not to bill exactly.
"""

import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, transaction
from pydantic import BaseModel, ValidationError

from core.llm.base import (
    Backend,
    ChatResult,
    ChatStreamSource,
    LLMBudgetExceeded,
    LLMError,
    LLMInvalidOutput,
    Message,
)

logger = logging.getLogger(__name__)

Schema = TypeVar("Schema", bound=BaseModel)

FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.DOTALL)


def backend_name() -> str:
    """Return "openai" when an endpoint or key is configured, else "local"."""
    return "openai" if settings.OPENAI_BASE_URL or settings.OPENAI_API_KEY else "local"


def get_backend() -> Backend:
    """Return the backend the settings select, built from the settings as they are now."""
    if backend_name() == "openai":
        from core.llm.openai_backend import OpenAIBackend

        return OpenAIBackend()
    # Imported here so a deployment on an endpoint never pays for importing torch.
    from core.llm.local import LocalBackend

    return LocalBackend()


# --- budget ----------------------------------------------------------------------------------


def _is_limited(user) -> bool:
    from core.models import User

    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.role == User.Role.PARTICIPANT
        and not user.is_superuser
    )


def budget_remaining(user) -> int | None:
    """Return how many LLM calls ``user`` has left today, or None if they are not limited."""
    if not _is_limited(user):
        return None
    from core.models import LLMCall

    start_of_day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    used = (
        LLMCall.objects.filter(user=user, created__gte=start_of_day)
        .exclude(outcome=LLMCall.Outcome.OVER_BUDGET)
        .count()
    )
    return max(0, int(settings.VALUELAB_LLM_BUDGET) - used)


# --- recording -------------------------------------------------------------------------------


class _Call:
    """One gateway call being timed, and the row that will record it."""

    def __init__(self, *, kind: str, purpose: str, backend: Backend, model: str, user, study):
        self.kind = kind
        self.purpose = purpose
        self.backend = backend
        self.model = model
        self.user = user if getattr(user, "pk", None) else None
        self.study = study if getattr(study, "pk", None) else None
        self.started = time.monotonic()
        self.recorded = False

    def check_budget(self) -> None:
        """Raise LLMBudgetExceeded, after recording it, if the participant has no calls left."""
        remaining = budget_remaining(self.user)
        if remaining is None or remaining > 0:
            return
        limit = int(settings.VALUELAB_LLM_BUDGET)
        error = LLMBudgetExceeded(
            f"You have reached today's limit of {limit} AI replies. Please come back tomorrow.",
            attempts=0,
        )
        self.failed(error)
        raise error

    def succeeded(
        self,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        attempts: int,
        note: str = "",
    ) -> None:
        self._record(
            outcome="ok",
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            attempts=attempts,
            error=note,
        )

    def failed(
        self, error: LLMError, *, prompt_tokens: int = 0, completion_tokens: int = 0
    ) -> None:
        self._record(
            outcome=error.outcome,
            model=self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            attempts=error.attempts,
            error=error.message,
        )

    def _record(self, **fields) -> None:
        if self.recorded:
            return
        self.recorded = True
        from core.models import LLMCall

        try:
            with transaction.atomic():
                LLMCall.objects.create(
                    purpose=self.purpose[:64],
                    kind=self.kind,
                    backend=self.backend.name,
                    user=self.user,
                    study=self.study,
                    latency_ms=int((time.monotonic() - self.started) * 1000),
                    **{
                        **fields,
                        "model": fields["model"][:200],
                        "prompt_tokens": max(0, int(fields["prompt_tokens"])),
                        "completion_tokens": max(0, int(fields["completion_tokens"])),
                        "attempts": max(0, min(int(fields["attempts"]), 32767)),
                        "error": fields["error"][:2000],
                    },
                )
        except DatabaseError:
            # Losing a usage row is better than failing the participant's request over it.
            logger.exception("Could not record an LLM call for %s", self.purpose)


def _start(kind: str, purpose: str, model: str | None, user, study) -> tuple[Backend, _Call]:
    backend = get_backend()
    name = backend.embedding_model() if kind == "embed" else backend.chat_model(model)
    call = _Call(kind=kind, purpose=purpose, backend=backend, model=name, user=user, study=study)
    call.check_budget()
    return backend, call


# --- the public calls ------------------------------------------------------------------------


def chat(
    messages: list[Message],
    *,
    purpose: str,
    user=None,
    study=None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    model: str | None = None,
) -> ChatResult:
    """Return the model's reply to ``messages``; raise an LLMError subclass if it fails."""
    backend, call = _start("chat", purpose, model, user, study)
    try:
        result = backend.chat(
            messages, model=call.model, temperature=temperature, max_tokens=max_tokens
        )
    except LLMError as error:
        call.failed(error)
        raise
    call.succeeded(
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        attempts=result.attempts,
    )
    return result


class ChatStream(Iterator[str]):
    """The text deltas of a streamed reply; the call is recorded when the stream ends.

    It ends when the reply is complete, when it fails (the typed error is raised from the loop),
    or when the consumer stops early and the stream is closed or garbage collected.
    """

    def __init__(self, source: ChatStreamSource, call: _Call):
        self._source = source
        self._pieces = iter(source)
        self._call = call
        self._finished = False

    def __iter__(self) -> "ChatStream":
        return self

    def __next__(self) -> str:
        if self._finished:
            raise StopIteration
        try:
            return next(self._pieces)
        except StopIteration:
            self._finish()
            raise
        except LLMError as error:
            self._finish(error)
            raise

    def close(self) -> None:
        """Stop reading: free the connection (or the local model) and record the call."""
        if self._finished:
            return
        try:
            self._source.close()
        finally:
            self._finish(note="The caller stopped reading before the end of the reply.")

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_finished", True):
            self.close()

    def _finish(self, error: LLMError | None = None, note: str = "") -> None:
        self._finished = True
        source = self._source
        if error is not None:
            self._call.failed(
                error,
                prompt_tokens=source.prompt_tokens,
                completion_tokens=source.completion_tokens,
            )
            return
        self._call.succeeded(
            model=source.model,
            prompt_tokens=source.prompt_tokens,
            completion_tokens=source.completion_tokens,
            attempts=source.attempts,
            note=note,
        )


def chat_stream(
    messages: list[Message],
    *,
    purpose: str,
    user=None,
    study=None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    model: str | None = None,
) -> ChatStream:
    """Return an iterator of the reply's text deltas.

    The budget is checked and the request opened before this returns, so an exhausted budget or
    an unreachable endpoint raises here, before a view starts its streaming response.
    """
    backend, call = _start("stream", purpose, model, user, study)
    try:
        source = backend.stream(
            messages, model=call.model, temperature=temperature, max_tokens=max_tokens
        )
    except LLMError as error:
        call.failed(error)
        raise
    return ChatStream(source, call)


def structured(
    messages: list[Message],
    *,
    schema: type[Schema],
    purpose: str,
    user=None,
    study=None,
    attempts: int | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    model: str | None = None,
) -> Schema:
    """Return the model's answer as a validated ``schema`` instance.

    An answer that does not validate is sent back to the model with the validation errors, up to
    ``attempts`` (default VALUELAB_LLM_STRUCTURED_ATTEMPTS) answers in all; then raise
    LLMInvalidOutput. The whole exchange is recorded as one call.
    """
    backend, call = _start("structured", purpose, model, user, study)
    allowed = max(1, attempts or int(settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS))
    conversation = list(messages)
    prompt_tokens = completion_tokens = requests = 0
    problem = ""
    for _ in range(allowed):
        try:
            reply = backend.structured(
                conversation,
                schema=schema,
                model=call.model,
                temperature=temperature,
                max_tokens=max_tokens,
            )
        except LLMError as error:
            error.attempts += requests
            call.failed(error, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            raise
        requests += reply.attempts
        prompt_tokens += reply.prompt_tokens
        completion_tokens += reply.completion_tokens
        try:
            instance = schema.model_validate_json(_json_text(reply.text))
        except ValidationError as exc:
            problem = _describe(exc)
            conversation += [
                {"role": "assistant", "content": reply.text},
                {
                    "role": "user",
                    "content": (
                        f"That answer does not match the required JSON schema: {problem}. "
                        "Answer again with only the corrected JSON object."
                    ),
                },
            ]
            continue
        call.succeeded(
            model=reply.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            attempts=requests,
        )
        return instance
    error = LLMInvalidOutput(
        f"The model gave no valid {schema.__name__} in {allowed} "
        f"attempt{'s' if allowed != 1 else ''}: {problem}",
        attempts=requests,
    )
    call.failed(error, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    raise error


def embed(texts: list[str], *, purpose: str, user=None, study=None) -> list[list[float]]:
    """Return one embedding vector per text, in order (an empty list costs no call)."""
    if not texts:
        return []
    backend, call = _start("embed", purpose, None, user, study)
    try:
        result = backend.embed(list(texts))
    except LLMError as error:
        call.failed(error)
        raise
    call.succeeded(
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=0,
        attempts=result.attempts,
    )
    return result.vectors


def _json_text(text: str) -> str:
    """Return the JSON inside ``text``: models asked for JSON still wrap it in ``` fences."""
    stripped = text.strip()
    fenced = FENCE.match(stripped)
    if fenced:
        return fenced.group(1)
    if not stripped.startswith(("{", "[")) and "{" in stripped:
        return stripped[stripped.index("{") : stripped.rindex("}") + 1]
    return stripped


def _describe(exc: ValidationError) -> str:
    """Return pydantic's errors as one short line the model (and a researcher) can read."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error["loc"]) or "the answer"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts) or json.dumps(str(exc))[:300]
