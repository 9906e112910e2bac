"""The backend for any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

Retries are ours, not the client's (it is built with ``max_retries=0``), so the gateway can record
how many requests a call took. They cover connection errors, timeouts, 408/409/429 and 5xx,
back off exponentially (0.5 s, 1 s, 2 s … capped at 8 s, with jitter), honour a Retry-After of up
to 30 s and give up at once on a longer one, and stop after VALUELAB_LLM_MAX_RETRIES.

Structured output uses ``response_format={"type": "json_schema", ...}`` with the pydantic model's
JSON schema rather than a forced tool call: OpenAI, vLLM, Ollama and llama.cpp's server all turn
it into constrained decoding, the answer comes back as plain message content (the same path as
chat, and the text we feed back when it is invalid), and tool calling is the feature small local
servers most often lack. ``strict`` is off because strict mode rejects ordinary pydantic schemas
(optional fields, defaults, length limits); the gateway validates every answer with pydantic
anyway. A server that answers with a tool call instead still works: its arguments are used.
"""

import json
import random
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urlsplit

import openai
from django.conf import settings
from pydantic import BaseModel

from core.llm.base import (
    ChatResult,
    Embeddings,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    Message,
)

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
OPENAI_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "not-needed"  # vLLM, Ollama and llama.cpp ignore the key, the client wants one
RETRYABLE_STATUS = {408, 409, 429}
MAX_RETRY_AFTER = 30.0
BACKOFF_START, BACKOFF_CAP = 0.5, 8.0

T = TypeVar("T")


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    # One client (and so one connection pool) per configuration; tests change the settings.
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


class OpenAIBackend:
    """Call an OpenAI-compatible endpoint named by OPENAI_BASE_URL / OPENAI_API_KEY."""

    name = "openai"

    def __init__(self) -> None:
        self.base_url = settings.OPENAI_BASE_URL or OPENAI_URL
        self.api_key = settings.OPENAI_API_KEY or PLACEHOLDER_KEY
        self.timeout = float(settings.VALUELAB_LLM_TIMEOUT)
        self.max_retries = max(0, int(settings.VALUELAB_LLM_MAX_RETRIES))
        parts = urlsplit(self.base_url)
        self.host = parts.netloc or self.base_url
        self.client = _client(self.base_url, self.api_key, self.timeout)

    def chat_model(self, model: str | None) -> str:
        return model or settings.VALUELAB_LLM_MODEL or DEFAULT_CHAT_MODEL

    def embedding_model(self) -> str:
        return settings.VALUELAB_LLM_EMBEDDING_MODEL or DEFAULT_EMBEDDING_MODEL

    # --- calls -----------------------------------------------------------------------------

    def chat(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        extra: dict | None = None,
    ) -> ChatResult:
        """Return one completion, retrying transient failures."""
        options = _options(temperature, max_tokens) | (extra or {})

        def send():
            return self.client.chat.completions.create(model=model, messages=messages, **options)

        completion, attempts = self._with_retries(send)
        try:
            message = completion.choices[0].message
        except (AttributeError, IndexError, TypeError):
            raise LLMUnavailable(
                f"The LLM endpoint at {self.host} answered without a message.", attempts=attempts
            )
        text = message.content or ""
        if not text and message.tool_calls:
            text = message.tool_calls[0].function.arguments or ""
        usage = completion.usage
        return ChatResult(
            text=text,
            model=completion.model or model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            attempts=attempts,
        )

    def structured(
        self,
        messages: list[Message],
        *,
        schema: type[BaseModel],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        """Return a completion constrained to ``schema``'s JSON schema (validated by the caller)."""
        response_format = {
            "type": "json_schema",
            "json_schema": {
                "name": schema.__name__[:64],
                "schema": schema.model_json_schema(),
                "strict": False,
            },
        }
        return self.chat(
            messages,
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            extra={"response_format": response_format},
        )

    def stream(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int | None,
    ) -> "OpenAIStream":
        """Open a streamed completion now (so connection errors surface here) and return it."""
        options = _options(temperature, max_tokens)

        def send():
            return self.client.chat.completions.create(
                model=model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                **options,
            )

        response, attempts = self._with_retries(send)
        return OpenAIStream(self, response, model=model, attempts=attempts)

    def embed(self, texts: list[str]) -> Embeddings:
        """Return one vector per text, in order."""
        model = self.embedding_model()
        response, attempts = self._with_retries(
            lambda: self.client.embeddings.create(model=model, input=texts)
        )
        ordered = sorted(response.data, key=lambda item: item.index)
        return Embeddings(
            vectors=[list(item.embedding) for item in ordered],
            model=response.model or model,
            prompt_tokens=response.usage.prompt_tokens if response.usage else 0,
            attempts=attempts,
        )

    # --- retries and errors ----------------------------------------------------------------

    def _with_retries(self, send: Callable[[], T]) -> tuple[T, int]:
        """Return ``send()``'s result and the number of requests it took; raise a typed error."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return send(), attempt
            except openai.APIError as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None or attempt > self.max_retries:
                    raise self.typed_error(exc, attempt)
                time.sleep(delay)
            except ValueError as exc:
                # The client parses the body itself and lets a JSONDecodeError through.
                raise self.typed_error(exc, attempt)

    def _retry_delay(self, exc: openai.APIError, attempt: int) -> float | None:
        """Return how long to wait before retrying after ``exc``, or None not to retry."""
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code not in RETRYABLE_STATUS and exc.status_code < 500:
                return None
            retry_after = _retry_after(exc.response.headers)
            if retry_after is not None:
                # A server asking for a long pause is not helped by a user waiting on a page.
                return retry_after if retry_after <= MAX_RETRY_AFTER else None
        elif not isinstance(exc, openai.APIConnectionError):
            return None  # a broken response body is not transient
        backoff = min(BACKOFF_START * 2 ** (attempt - 1), BACKOFF_CAP)
        return backoff * (1 - 0.25 * random.random())

    def typed_error(self, exc: Exception, attempts: int) -> LLMError:
        """Return the LLMError for an openai exception, naming the host, never the key."""
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        where = f"The LLM endpoint at {self.host}"
        if isinstance(exc, openai.APITimeoutError):
            message = f"{where} did not answer within {self.timeout:g} s ({tries})."
            return LLMTimeout(message, attempts=attempts)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            detail = str(cause) or type(cause).__name__
            message = f"{where} could not be reached ({tries}): {self._scrub(detail)}"
            return LLMUnavailable(message, attempts=attempts)
        if isinstance(exc, openai.APIStatusError):
            detail = self._scrub(_error_message(exc))
            status = exc.status_code
            if status in (401, 403):
                message = f"{where} refused the API key (HTTP {status}): {detail}"
                return LLMError(message, attempts=attempts)
            if status in RETRYABLE_STATUS or status >= 500:
                message = f"{where} kept failing with HTTP {status} ({tries}): {detail}"
                return LLMUnavailable(message, attempts=attempts)
            message = f"{where} rejected the request (HTTP {status}): {detail}"
            return LLMError(message, attempts=attempts)
        detail = self._scrub(str(exc))
        message = f"{where} answered with something that is not an OpenAI response: {detail}"
        return LLMUnavailable(message[:500], attempts=attempts)

    def _scrub(self, text: str) -> str:
        if self.api_key and len(self.api_key) >= 4:
            text = text.replace(self.api_key, "***")
        return text[:300]


class OpenAIStream:
    """An open streamed completion: iterate for text deltas; usage arrives with the last chunk."""

    def __init__(self, backend: OpenAIBackend, response, *, model: str, attempts: int):
        self.backend = backend
        self.response = response
        self.model = model
        self.attempts = attempts
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._chunks_with_text = 0
        self._usage_seen = False

    def __iter__(self) -> Iterator[str]:
        try:
            for chunk in self.response:
                if chunk.model:
                    self.model = chunk.model
                if chunk.usage:
                    self._usage_seen = True
                    self.prompt_tokens = chunk.usage.prompt_tokens or 0
                    self.completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or []:
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        self._chunks_with_text += 1
                        if not self._usage_seen:
                            # Servers send about one token a chunk: a fair count if the stream
                            # stops before the usage chunk, or the server sends none.
                            self.completion_tokens = self._chunks_with_text
                        yield piece
        except openai.APIError as exc:
            raise self.backend.typed_error(exc, self.attempts)
        except Exception as exc:
            # httpx's read errors surface raw while a stream is being read.
            if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore"):
                if "timeout" in type(exc).__name__.lower():
                    message = (
                        f"The LLM endpoint at {self.backend.host} stopped sending within "
                        f"{self.backend.timeout:g} s."
                    )
                    raise LLMTimeout(message, attempts=self.attempts)
                message = f"The LLM endpoint at {self.backend.host} broke off the reply: {exc}"
                raise LLMUnavailable(message, attempts=self.attempts)
            raise

    def close(self) -> None:
        """Close the HTTP response (the consumer stopped reading)."""
        self.response.close()


def _options(temperature: float | None, max_tokens: int | None) -> dict:
    options = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    return options


def _retry_after(headers) -> float | None:
    """Return the server's requested pause in seconds (Retry-After-Ms or Retry-After)."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue  # an HTTP date: rare from APIs, and the backoff is a fine fallback
        return max(0.0, seconds)
    return None


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("message"):
            return str(body["message"])
    try:
        return json.dumps(body)[:200] if body is not None else exc.message
    except TypeError:
        return exc.message
