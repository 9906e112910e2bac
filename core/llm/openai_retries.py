"""Retries and errors of an OpenAI-compatible endpoint (the ``OpenAIBackend``'s side of them).

Retries are ours, not the client's (it is built with ``max_retries=0``), so the gateway can record
how many requests a call took. They cover connection errors, timeouts, 408/409/429 and 5xx,
back off exponentially (0.5 s, 1 s, 2 s … capped at 8 s, with jitter), honour a Retry-After of up
to 30 s and give up at once on a longer one, and stop after VALUELAB_LLM_MAX_RETRIES.

A refusal is not an outage. A 400/404/422 (or a 500 whose body names the parameter it choked on,
as llama-cpp-python's server answers ``json_schema``) raises ``LLMRefused`` at once, with the
server's message cleaned of tracebacks and file paths; only connection errors, timeouts,
408/409/429 and other 5xx are retried.
"""

import json
import random
import re
import time
from collections.abc import Callable
from typing import TypeVar

import openai

from core.llm import slots
from core.llm.base import (
    LLMContextExceeded,
    LLMError,
    LLMParameterRefused,
    LLMRefused,
    LLMTimeout,
    LLMUnavailable,
)

RETRYABLE_STATUS = {408, 409, 429}
MAX_RETRY_AFTER = 30.0
BACKOFF_START, BACKOFF_CAP = 0.5, 8.0
PARAMETERS = {
    # What a refusal's text names -> the parameter the gateway can do without.
    "response_format": "response_format",
    "json_schema": "response_format",
    "json_object": "response_format",
    "'text' or": "response_format",
    "grammar": "response_format",
    "tool_choice": "tools",
    "tools": "tools",
    "tool-call-parser": "tools",
}
CONTEXT_PATTERNS = [
    re.compile(r"maximum context length is (\d+)", re.I),
    re.compile(r"context size \((\d+) tokens\)", re.I),
    re.compile(r"n_ctx\D{0,4}(\d+)", re.I),
    re.compile(r"context (?:window|length) (?:of |is )?(\d+)", re.I),
]
CONTEXT_WORDS = re.compile(
    r"context[_ ]length[_ ]exceeded|exceed_context_size|maximum context length|"
    r"exceeds the available context|context window|too many tokens|prompt is too long",
    re.I,
)
TRACEBACK = re.compile(r"Traceback \(most recent call last\).*", re.S)
FILE_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}")
PYDANTIC_MESSAGE = re.compile(r"""['"]msg['"]:\s*(?:"([^"]*)"|'([^']*)')""")

T = TypeVar("T")


class RetriesAndErrors:
    """Send a request with retries and turn its failures into typed LLMErrors.

    Mixed into ``OpenAIBackend``, whose ``base_url``, ``host``, ``api_key``, ``timeout``,
    ``max_retries`` and ``concurrency`` it reads.
    """

    def _with_retries(
        self,
        send: Callable[[], T],
        *,
        hold_slot: bool = False,
        endpoint: str | None = None,
        host: str | None = None,
    ):
        """Return ``send()``'s result and the number of requests it took; raise a typed error.

        Each request first takes a slot (waiting for one is not part of the timeout). With
        ``hold_slot`` the slot is returned too, still held (a stream keeps it while it is read).
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                slot = slots.acquire(endpoint or self.base_url, limit=self.concurrency)
            except slots.SlotsBusy as exc:
                raise LLMUnavailable(
                    f"The LLM endpoint at {host or self.host} is busy: {exc} "
                    "(VALUELAB_LLM_CONCURRENCY bounds the requests in flight).",
                    attempts=attempt - 1,
                )
            try:
                result = send()
            except openai.APIError as exc:
                slot.release()
                delay = self._retry_delay(exc, attempt)
                if delay is None or attempt > self.max_retries:
                    raise self.typed_error(exc, attempt, host=host)
                time.sleep(delay)
                continue
            except ValueError as exc:
                # The client parses the body itself and lets a JSONDecodeError through.
                slot.release()
                raise self.typed_error(exc, attempt, host=host)
            except BaseException:
                slot.release()
                raise
            if hold_slot:
                return result, attempt, slot
            slot.release()
            return result, attempt

    def _retry_delay(self, exc: openai.APIError, attempt: int) -> float | None:
        """Return how long to wait before retrying after ``exc``, or None not to retry."""
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code not in RETRYABLE_STATUS and exc.status_code < 500:
                return None
            if self._refusal(exc, attempt) is not None:
                return None  # a 500 that names what it refused: the same request fails again
            retry_after = _retry_after(exc.response.headers)
            if retry_after is not None:
                # A server asking for a long pause is not helped by a user waiting on a page.
                return retry_after if retry_after <= MAX_RETRY_AFTER else None
        elif not isinstance(exc, openai.APIConnectionError):
            return None  # a broken response body is not transient
        backoff = min(BACKOFF_START * 2 ** (attempt - 1), BACKOFF_CAP)
        return backoff * (1 - 0.25 * random.random())

    def _refusal(
        self, exc: openai.APIStatusError, attempts: int, host: str | None = None
    ) -> LLMRefused | None:
        """Return the refusal ``exc`` stands for, or None when it is not one.

        4xx (other than 401/403/408/409/429) are refusals; so is a 5xx whose body names a request
        parameter or the context, which servers built on pydantic or llama.cpp answer that way.
        """
        status = exc.status_code
        if status in (401, 403) or status in RETRYABLE_STATUS or status > 500:
            return None
        raw = _error_message(exc)
        lowered = raw.lower()
        where = f"The LLM endpoint at {host or self.host}"
        if CONTEXT_WORDS.search(raw):
            size = next((int(m.group(1)) for p in CONTEXT_PATTERNS if (m := p.search(raw))), None)
            said = f" ({size:,} tokens)" if size else ""
            return LLMContextExceeded(
                f"{where} refused the request: the conversation is longer than the model's "
                f"context{said}. Shorten it, or start the server with a larger context and set "
                "VALUELAB_LLM_CONTEXT_TOKENS.",
                context_tokens=size,
                attempts=attempts,
            )
        named = next((PARAMETERS[word] for word in PARAMETERS if word in lowered), None)
        if named is not None:
            return LLMParameterRefused(
                f"{where} does not accept the {named} parameter (HTTP {status}): "
                f"{self._scrub(raw)}",
                parameter=named,
                attempts=attempts,
            )
        if status == 500:
            return None  # a plain server error: transient as far as anyone can tell
        if status == 404 and "model" in lowered:
            return LLMRefused(
                f"{where} does not serve that model (HTTP 404): {self._scrub(raw)} "
                "Check VALUELAB_LLM_MODEL (and VALUELAB_LLM_EMBEDDING_MODEL).",
                attempts=attempts,
            )
        return LLMRefused(
            f"{where} refused the request (HTTP {status}): {self._scrub(raw)}", attempts=attempts
        )

    def typed_error(self, exc: Exception, attempts: int, host: str | None = None) -> LLMError:
        """Return the LLMError for an openai exception, naming the host, never the key."""
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        where = f"The LLM endpoint at {host or self.host}"
        if isinstance(exc, openai.APITimeoutError):
            message = f"{where} did not answer within {self.timeout:g} s ({tries})."
            return LLMTimeout(message, attempts=attempts)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            detail = str(cause) or type(cause).__name__
            message = f"{where} could not be reached ({tries}): {self._scrub(detail)}"
            return LLMUnavailable(message, attempts=attempts)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status in (401, 403):
                detail = self._scrub(_error_message(exc))
                message = f"{where} refused the API key (HTTP {status}): {detail}"
                return LLMError(message, attempts=attempts)
            refusal = self._refusal(exc, attempts, host)
            if refusal is not None:
                return refusal
            detail = self._scrub(_error_message(exc))
            message = f"{where} kept failing with HTTP {status} ({tries}): {detail}"
            return LLMUnavailable(message, attempts=attempts)
        detail = self._scrub(str(exc))
        message = f"{where} answered with something that is not an OpenAI response: {detail}"
        return LLMUnavailable(message[:500], attempts=attempts)

    def _scrub(self, text: str) -> str:
        """Return a server's message fit for a page: no key, traceback, file path or repr."""
        if self.api_key and len(self.api_key) >= 4:
            text = text.replace(self.api_key, "***")
        text = TRACEBACK.sub("", text)
        messages = [a or b for a, b in PYDANTIC_MESSAGE.findall(text)]
        if messages:
            text = "; ".join(messages)
        text = FILE_PATH.sub("[path]", text)
        return " ".join(text.split())[:300]


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
