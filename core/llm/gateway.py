"""The one door to language models: pick the backend, enforce the budget, record every call.

Every call, failed or not, leaves one LLMCall row. The row is written in its own savepoint and a
database error while writing it is logged, never raised, so recording cannot break the caller;
if the caller's own transaction later rolls back, the row goes with it (keeping it would need a
second database connection, which SQLite test databases cannot share).

How calls are counted against the participant budget and recorded: ``core.llm.calls``.
"""

import json
import re
from collections.abc import Iterator
from typing import TypeVar

from django.conf import settings
from pydantic import BaseModel, ValidationError

from core.llm.base import (
    Backend,
    ChatResult,
    ChatStreamSource,
    Generation,
    LLMEmptyReply,
    LLMError,
    LLMInvalidOutput,
    Message,
)
from core.llm.calls import Call, call_start

Schema = TypeVar("Schema", bound=BaseModel)

FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.DOTALL)


def backend_name() -> str:
    """Return "openai" when an endpoint or key is configured, else "local"."""
    return "openai" if settings.OPENAI_BASE_URL or settings.OPENAI_API_KEY else "local"


def endpoint_report() -> dict:
    """Return what is known about the configured endpoint: models, structured mode, embeddings.

    Filled in by calls (the structured mode that worked, the embedding shape, a learned context
    size), so it says most right after "Check the LLM" ran its calls.
    """
    backend = get_backend()
    chat_model, embedding_model = backend.chat_model(None), backend.embedding_model()
    if backend.name != "openai":
        return {
            "backend": backend.name,
            "endpoint": "the embedded local model",
            "chat_model": chat_model,
            "embedding_model": embedding_model,
            "structured_mode": "constrained decoding (outlines)",
            "context_tokens": None,
            "context_source": "the model's own window",
            "embedding_shape": "flat",
            "embedding_dimensions": None,
        }
    chat = backend.capabilities(chat_model)
    embedding = backend.embedding_capabilities()
    return {
        "backend": backend.name,
        "endpoint": backend.host,
        "chat_model": chat_model,
        "embedding_model": embedding_model,
        "embedding_endpoint": backend.embedding_host,
        "structured_mode": chat.structured_mode,
        "context_tokens": backend.context_tokens(chat_model),
        "context_source": "learned from a refusal"
        if chat.context_tokens
        else "VALUELAB_LLM_CONTEXT_TOKENS",
        "embedding_shape": embedding.embedding_shape,
        "embedding_dimensions": embedding.embedding_dimensions,
    }


def get_backend() -> Backend:
    """Return the backend the settings select, built from the settings as they are now."""
    if backend_name() == "openai":
        from core.llm.openai_backend import OpenAIBackend

        return OpenAIBackend()
    # Imported here so a deployment on an endpoint never pays for importing torch.
    from core.llm.local import LocalBackend

    return LocalBackend()


# --- the public calls ------------------------------------------------------------------------


def chat(
    messages: list[Message],
    *,
    purpose: str,
    user=None,
    study=None,
    ask: Generation = Generation(),
) -> ChatResult:
    """Return the model's reply to ``messages``; raise an LLMError subclass if it fails.

    ``ask`` says which model and how to sample (the defaults: the configured model, the backend's
    sampling).
    """
    backend, call = call_start("chat", purpose, ask.model, user, study)
    try:
        result = backend.chat(messages, ask.naming(call.model))
    except LLMError as error:
        call.record(error)
        raise
    call.record(result)
    return result


class ChatStream(Iterator[str]):
    """The text deltas of a streamed reply; the call is recorded when the stream ends.

    It ends when the reply is complete, when it fails (the typed error is raised from the loop),
    or when the consumer stops early and the stream is closed or garbage collected.
    """

    def __init__(self, source: ChatStreamSource, call: Call):
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
        estimated = bool(getattr(source, "tokens_estimated", False))
        if error is not None:
            self._call.failed(
                error,
                prompt_tokens=source.prompt_tokens,
                completion_tokens=source.completion_tokens,
                tokens_estimated=estimated,
            )
            return
        if not note and source.completion_tokens == 0 and self.tool_call is None:
            self._call.failed(
                LLMEmptyReply("The model sent an empty reply.", attempts=source.attempts),
                prompt_tokens=source.prompt_tokens,
                tokens_estimated=estimated,
            )
            return
        self._call.succeeded(
            model=source.model,
            prompt_tokens=source.prompt_tokens,
            completion_tokens=source.completion_tokens,
            attempts=source.attempts,
            note=note,
            tokens_estimated=estimated,
        )

    @property
    def completion_tokens(self) -> int:
        """Return the reply's tokens so far (the server's count, or the backend's estimate)."""
        return int(getattr(self._source, "completion_tokens", 0) or 0)

    @property
    def tool_call(self) -> dict | None:
        """Return the tool the model called in this reply ({"name", "arguments"}), if any."""
        return getattr(self._source, "tool_call", None)


def chat_stream(
    messages: list[Message],
    *,
    purpose: str,
    user=None,
    study=None,
    tools: list[dict] | None = None,
    ask: Generation = Generation(),
) -> ChatStream:
    """Return an iterator of the reply's text deltas.

    The budget is checked and the request opened before this returns, so an exhausted budget or
    an unreachable endpoint raises here, before a view starts its streaming response.

    ``tools`` (OpenAI function definitions) are offered with ``tool_choice: "auto"`` where the
    endpoint accepts them; ``ChatStream.tool_call`` then says which one the model called. An
    endpoint that refuses them is remembered and asked without; the local model gets none.
    """
    backend, call = call_start("stream", purpose, ask.model, user, study)
    extra = {"tools": tools} if tools and backend.name == "openai" else {}
    try:
        source = backend.stream(messages, ask.naming(call.model), **extra)
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
    ask: Generation = Generation(),
) -> Schema:
    """Return the model's answer as a validated ``schema`` instance.

    An answer that does not validate is sent back to the model with the validation errors, up to
    ``attempts`` (default VALUELAB_LLM_STRUCTURED_ATTEMPTS) answers in all; then raise
    LLMInvalidOutput. The whole exchange is recorded as one call.
    """
    backend, call = call_start("structured", purpose, ask.model, user, study)
    allowed = max(1, attempts or int(settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS))
    conversation = list(messages)
    ask = ask.naming(call.model)
    prompt_tokens = completion_tokens = requests = 0
    estimated = False
    problem = ""
    for _ in range(allowed):
        try:
            reply = backend.structured(conversation, schema, ask)
        except LLMError as error:
            error.attempts += requests
            call.failed(error, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            raise
        requests += reply.attempts
        prompt_tokens += reply.prompt_tokens
        completion_tokens += reply.completion_tokens
        estimated = estimated or reply.tokens_estimated
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
            tokens_estimated=estimated,
        )
        return instance
    error = LLMInvalidOutput(
        f"The model gave no valid {schema.__name__} in {allowed} "
        f"attempt{'s' if allowed != 1 else ''}: {problem}",
        attempts=requests,
    )
    call.failed(
        error,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        tokens_estimated=estimated,
    )
    raise error


def embed(texts: list[str], *, purpose: str, user=None, study=None) -> list[list[float]]:
    """Return one embedding vector per text, in order (an empty list costs no call)."""
    if not texts:
        return []
    backend, call = call_start("embed", purpose, None, user, study)
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
        tokens_estimated=result.tokens_estimated,
        note="Per-token rows were mean-pooled." if result.shape == "per_token" else "",
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
