"""The backend for any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

Retries are ours, not the client's (it is built with ``max_retries=0``), so the gateway can record
how many requests a call took. They cover connection errors, timeouts, 408/409/429 and 5xx,
back off exponentially (0.5 s, 1 s, 2 s … capped at 8 s, with jitter), honour a Retry-After of up
to 30 s and give up at once on a longer one, and stop after VALUELAB_LLM_MAX_RETRIES.

A refusal is not an outage. A 400/404/422 (or a 500 whose body names the parameter it choked on,
as llama-cpp-python's server answers ``json_schema``) raises ``LLMRefused`` at once, with the
server's message cleaned of tracebacks and file paths; only connection errors, timeouts,
408/409/429 and other 5xx are retried.

Structured output asks for JSON the best way the endpoint accepts, tried in this order and
remembered per endpoint and model (``core.llm.capabilities``): ``response_format`` ``json_schema``
(OpenAI, vLLM, Ollama, llama-server: constrained decoding), ``json_object`` with the schema
(llama-cpp-python's server), then no ``response_format`` and the schema in the instructions. The
answer is plain message content either way, validated (and sent back for repair) by the gateway.
``strict`` is off because strict mode rejects ordinary pydantic schemas. The schema sent has no
``maxLength`` above ``SENT_MAX_LENGTH``: grammar-based servers (llama.cpp) expand a length limit
into one rule per character and give up on long ones; pydantic checks the length afterwards.

Every request takes a slot first (``core.llm.slots``: VALUELAB_LLM_CONCURRENCY per endpoint on
this machine), and the messages are fitted to the endpoint's context (VALUELAB_LLM_CONTEXT_TOKENS,
or the size learned from a "context exceeded" refusal, which is then retried once, trimmed).
Embeddings are checked: one flat vector per text, all of one dimension; per-token rows (a
llama-cpp-python server whose model has no pooling) are mean-pooled and the shape remembered.
Token counts the server does not send are estimated and marked so.
"""

import json
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import lru_cache
from typing import TypeVar
from urllib.parse import urlsplit

import openai
from django.conf import settings
from pydantic import BaseModel

from core.llm import capabilities, slots
from core.llm.base import (
    ChatResult,
    Embeddings,
    LLMContextExceeded,
    LLMEmptyReply,
    LLMError,
    LLMInvalidOutput,
    LLMParameterRefused,
    LLMRefused,
    LLMTimeout,
    LLMUnavailable,
    Message,
)
from core.llm.capabilities import Capabilities
from core.llm.context import estimate_messages, estimate_tokens, fit_messages
from core.llm.schemas import schema_instructions, sendable_schema

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
OPENAI_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "not-needed"  # vLLM, Ollama and llama.cpp ignore the key, the client wants one
RETRYABLE_STATUS = {408, 409, 429}
MAX_RETRY_AFTER = 30.0
BACKOFF_START, BACKOFF_CAP = 0.5, 8.0
DEFAULT_RESERVE = 512  # completion tokens kept free when the caller sets no max_tokens
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


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    # One client (and so one connection pool) per configuration; tests change the settings.
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


class OpenAIBackend:
    """Call an OpenAI-compatible endpoint named by OPENAI_BASE_URL / OPENAI_API_KEY."""

    name = "openai"

    def __init__(
        self, base_url: str = "", api_key: str = "", concurrency: int | None = None
    ) -> None:
        # A base_url names another endpoint than the configured one (a model being measured).
        self.base_url = base_url or settings.OPENAI_BASE_URL or OPENAI_URL
        self.api_key = (api_key if base_url else settings.OPENAI_API_KEY) or PLACEHOLDER_KEY
        self.concurrency = concurrency  # requests in flight to it; None: VALUELAB_LLM_CONCURRENCY
        self.timeout = float(settings.VALUELAB_LLM_TIMEOUT)
        self.max_retries = max(0, int(settings.VALUELAB_LLM_MAX_RETRIES))
        parts = urlsplit(self.base_url)
        self.host = parts.netloc or self.base_url
        self.client = _client(self.base_url, self.api_key, self.timeout)
        # vLLM serves one model per server: embeddings may come from a second one.
        configured = getattr(settings, "VALUELAB_LLM_EMBEDDING_BASE_URL", "")
        self.embedding_base_url = configured or self.base_url
        self.embedding_host = urlsplit(self.embedding_base_url).netloc or self.embedding_base_url
        self.embedding_client = (
            _client(self.embedding_base_url, self.api_key, self.timeout)
            if configured
            else self.client
        )

    def chat_model(self, model: str | None) -> str:
        return model or settings.VALUELAB_LLM_MODEL or DEFAULT_CHAT_MODEL

    def embedding_model(self) -> str:
        return settings.VALUELAB_LLM_EMBEDDING_MODEL or DEFAULT_EMBEDDING_MODEL

    def capabilities(self, model: str) -> Capabilities:
        """Return what is remembered about ``model`` on this endpoint."""
        return capabilities.capabilities_for(self.base_url, model)

    def embedding_capabilities(self) -> Capabilities:
        """Return what is remembered about the embedding model on its endpoint."""
        return capabilities.capabilities_for(self.embedding_base_url, self.embedding_model())

    def context_tokens(self, model: str) -> int:
        """Return the context size used for ``model``: learned, else the setting."""
        learned = self.capabilities(model).context_tokens
        return learned or int(getattr(settings, "VALUELAB_LLM_CONTEXT_TOKENS", 4096))

    def fit(self, messages: list[Message], *, model: str, max_tokens: int | None) -> list[Message]:
        """Return ``messages`` trimmed (oldest turns first) to the model's context."""
        reserve = max_tokens or DEFAULT_RESERVE
        budget = max(256, self.context_tokens(model) - reserve)
        fitted, _ = fit_messages(messages, budget=budget)
        return fitted

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
        """Return one completion, retrying transient failures and a context overflow once."""
        fitted = self.fit(messages, model=model, max_tokens=max_tokens)
        try:
            return self._chat_once(fitted, model, temperature, max_tokens, extra)
        except LLMContextExceeded as error:
            refitted = self.learn_context(error, fitted, model=model, max_tokens=max_tokens)
            if refitted is None:
                raise
            return self._chat_once(refitted, model, temperature, max_tokens, extra)

    def learn_context(
        self, error: LLMContextExceeded, sent: list[Message], *, model: str, max_tokens: int | None
    ) -> list[Message] | None:
        """Remember the context size a refusal revealed; return a shorter prompt to try, or None.

        When the server named its context size, that is remembered; otherwise three quarters of
        what was sent. None when trimming cannot make the prompt any shorter.
        """
        known = self.capabilities(model).context_tokens
        size = error.context_tokens or int(
            estimate_messages(sent, chars_per_token=3.0) * 0.75 + (max_tokens or DEFAULT_RESERVE)
        )
        if known:
            size = min(size, known - 1) if not error.context_tokens else size
        capabilities.remember(self.base_url, model, context_tokens=max(512, size))
        refitted = self.fit(sent, model=model, max_tokens=max_tokens)
        return refitted if len(refitted) < len(sent) else None

    def _chat_once(
        self,
        messages: list[Message],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        extra: dict | None,
    ) -> ChatResult:
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
        tool_call = None
        if message.tool_calls:
            function = message.tool_calls[0].function
            tool_call = {"name": function.name, "arguments": function.arguments or ""}
            if not text:
                text = function.arguments or ""
        if not text.strip() and tool_call is None:
            raise LLMEmptyReply(
                f"The LLM endpoint at {self.host} answered with an empty message.",
                attempts=attempts,
            )
        usage = completion.usage
        return ChatResult(
            text=text,
            model=completion.model or model,
            prompt_tokens=usage.prompt_tokens if usage else estimate_messages(messages),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens(text),
            attempts=attempts,
            tokens_estimated=usage is None,
            tool_call=tool_call,
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
        """Return a completion asked to follow ``schema`` (validated by the caller).

        Starts from the mode remembered for this endpoint and model, and falls back (remembering
        the one that worked) when the endpoint refuses the way JSON was asked for.
        """
        known = self.capabilities(model).structured_mode
        modes = capabilities.STRUCTURED_MODES
        sent = sendable_schema(schema)
        attempts = 0
        for mode in modes[modes.index(known) if known in modes else 0 :]:
            try:
                result = self.chat(
                    _structured_messages(messages, sent, mode),
                    model=model,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    extra=_structured_format(mode, sent, schema.__name__),
                )
            except LLMParameterRefused as error:
                if error.parameter != "response_format" or mode == modes[-1]:
                    raise
                attempts += error.attempts
                continue
            if mode != known:
                capabilities.remember(self.base_url, model, structured_mode=mode)
            return replace(result, structured_mode=mode, attempts=result.attempts + attempts)
        raise AssertionError("unreachable: the last mode sends no response_format")

    def stream(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        tools: list[dict] | None = None,
    ) -> "OpenAIStream":
        """Open a streamed completion now (so connection errors surface here) and return it.

        ``tools`` are offered unless this endpoint refused them before; a refusal of them is
        remembered and the request sent again without.
        """
        if tools and self.capabilities(model).auto_tools is False:
            tools = None
        fitted = self.fit(messages, model=model, max_tokens=max_tokens)
        try:
            return self._open_stream(fitted, model, temperature, max_tokens, tools)
        except LLMParameterRefused as error:
            if not tools or error.parameter != "tools":
                raise
            capabilities.remember(self.base_url, model, auto_tools=False)
            return self.stream(
                messages, model=model, temperature=temperature, max_tokens=max_tokens
            )
        except LLMContextExceeded as error:
            refitted = self.learn_context(error, fitted, model=model, max_tokens=max_tokens)
            if refitted is None:
                raise
            return self._open_stream(refitted, model, temperature, max_tokens, tools)

    def _open_stream(
        self,
        messages: list[Message],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        tools: list[dict] | None = None,
    ) -> "OpenAIStream":
        options = _options(temperature, max_tokens)
        if tools:
            options |= {"tools": tools, "tool_choice": "auto"}

        def send():
            return self.client.chat.completions.create(
                model=model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                **options,
            )

        response, attempts, slot = self._with_retries(send, hold_slot=True)
        return OpenAIStream(
            self,
            response,
            model=model,
            attempts=attempts,
            slot=slot,
            request={"messages": messages, "temperature": temperature, "max_tokens": max_tokens},
        )

    def embed(self, texts: list[str]) -> Embeddings:
        """Return one flat vector per text, in order; mean-pool per-token rows; refuse the rest."""
        model = self.embedding_model()
        response, attempts = self._with_retries(
            lambda: self.embedding_client.embeddings.create(
                model=model, input=texts, encoding_format="float"
            ),
            endpoint=self.embedding_base_url,
            host=self.embedding_host,
        )
        ordered = sorted(response.data or [], key=lambda item: item.index)
        vectors, shape = self._check_embeddings([item.embedding for item in ordered], texts)
        capabilities.remember(
            self.embedding_base_url,
            model,
            embedding_shape=shape,
            embedding_dimensions=len(vectors[0]),
        )
        usage = response.usage
        return Embeddings(
            vectors=vectors,
            model=response.model or model,
            prompt_tokens=usage.prompt_tokens
            if usage
            else sum(estimate_tokens(text) for text in texts),
            attempts=attempts,
            shape=shape,
            tokens_estimated=usage is None,
        )

    def _check_embeddings(self, rows: list, texts: list[str]) -> tuple[list[list[float]], str]:
        """Return flat vectors of one dimension and the shape they came in; raise if malformed."""
        where = f"The LLM endpoint at {self.embedding_host}"
        if len(rows) != len(texts):
            raise LLMInvalidOutput(
                f"{where} returned {len(rows)} embeddings for {len(texts)} texts."
            )
        vectors, shapes = [], set()
        for index, row in enumerate(rows):
            if _is_vector(row):
                vectors.append([float(value) for value in row])
                shapes.add("flat")
            elif isinstance(row, list) and row and all(_is_vector(token) for token in row):
                if len({len(token) for token in row}) != 1:
                    raise LLMInvalidOutput(
                        f"{where} returned per-token rows of different lengths for text {index}."
                    )
                # One row per token (no pooling on the server): their mean is the usual pooling.
                vectors.append([math.fsum(column) / len(row) for column in zip(*row, strict=True)])
                shapes.add("per_token")
            else:
                raise LLMInvalidOutput(
                    f"{where} returned embedding {index} in a shape ValueLab cannot read "
                    "(neither a list of numbers nor one list of numbers per token)."
                )
        dimensions = {len(vector) for vector in vectors}
        if len(dimensions) != 1 or 0 in dimensions:
            raise LLMInvalidOutput(
                f"{where} returned embeddings of different dimensions "
                f"({', '.join(str(d) for d in sorted(dimensions))}) in one answer."
            )
        if not all(math.isfinite(value) for vector in vectors for value in vector):
            raise LLMInvalidOutput(f"{where} returned embeddings with NaN or infinite values.")
        return vectors, "per_token" if "per_token" in shapes else "flat"

    # --- retries and errors ----------------------------------------------------------------

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


class OpenAIStream:
    """An open streamed completion: iterate for text deltas; usage arrives with the last chunk.

    A stream that ends without any text is asked again without streaming: a server that cannot
    stream this request (llama-cpp-python sends an empty stream for a prompt over its context)
    then either answers or says why not. Without a usage chunk the counts are estimated.
    """

    def __init__(
        self,
        backend: OpenAIBackend,
        response,
        *,
        model: str,
        attempts: int,
        slot: slots.Slot | None = None,
        request: dict | None = None,
    ):
        self.backend = backend
        self.response = response
        self.model = model
        self.attempts = attempts
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.tokens_estimated = False
        self.tool_call: dict | None = None
        self._slot = slot
        self._request = request or {}
        self._chunks_with_text = 0
        self._usage_seen = False

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self._read()
        finally:
            self._release()
        if self._chunks_with_text == 0 and self.tool_call is None:
            yield from self._ask_again()
            return
        if not self._usage_seen:
            self.tokens_estimated = True
            self.prompt_tokens = estimate_messages(self._request.get("messages") or [])

    def _read(self) -> Iterator[str]:
        calls: dict[int, dict] = {}
        try:
            for chunk in self.response:
                if chunk.model:
                    self.model = chunk.model
                if chunk.usage:
                    self._usage_seen = True
                    self.prompt_tokens = chunk.usage.prompt_tokens or 0
                    self.completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or []:
                    delta = choice.delta
                    for call in (delta.tool_calls if delta else None) or []:
                        entry = calls.setdefault(call.index or 0, {"name": "", "arguments": ""})
                        if call.function is not None:
                            entry["name"] += call.function.name or ""
                            entry["arguments"] += call.function.arguments or ""
                    piece = delta.content if delta else None
                    if piece:
                        self._chunks_with_text += 1
                        if not self._usage_seen:
                            # Servers send about one token a chunk: a fair count if the stream
                            # stops before the usage chunk, or the server sends none.
                            self.completion_tokens = self._chunks_with_text
                        yield piece
        except openai.APIConnectionError as exc:
            raise self._broken_off(exc.__cause__ or exc)
        except openai.APIError as exc:
            raise self.backend.typed_error(exc, self.attempts)
        except Exception as exc:
            # httpx's read errors surface raw while a stream is being read.
            if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore"):
                raise self._broken_off(exc)
            raise
        if calls:
            self.tool_call = calls[min(calls)]

    def _broken_off(self, exc: BaseException) -> LLMError:
        """Return the error for a stream that stopped part way (timed out or cut off)."""
        if "timeout" in type(exc).__name__.lower():
            message = (
                f"The LLM endpoint at {self.backend.host} stopped sending within "
                f"{self.backend.timeout:g} s."
            )
            return LLMTimeout(message, attempts=self.attempts)
        message = (
            f"The LLM endpoint at {self.backend.host} broke off the reply: "
            f"{self.backend._scrub(str(exc) or type(exc).__name__)}"
        )
        return LLMUnavailable(message, attempts=self.attempts)

    def _ask_again(self) -> Iterator[str]:
        """Ask once more, not streamed, after an empty stream; yield its text or raise why not."""
        request = self._request
        if not request:
            raise LLMEmptyReply(
                f"The LLM endpoint at {self.backend.host} sent an empty reply.",
                attempts=self.attempts,
            )
        try:
            result = self.backend.chat(
                request["messages"],
                model=self.model,
                temperature=request.get("temperature"),
                max_tokens=request.get("max_tokens"),
            )
        except LLMError as error:
            error.attempts += self.attempts
            raise
        self.attempts += result.attempts
        self.model = result.model
        self.prompt_tokens = result.prompt_tokens
        self.completion_tokens = result.completion_tokens
        self.tokens_estimated = result.tokens_estimated
        self.tool_call = result.tool_call
        if result.tool_call is None or result.text != result.tool_call["arguments"]:
            yield result.text

    def _release(self) -> None:
        if self._slot is not None:
            self._slot.release()
            self._slot = None

    def close(self) -> None:
        """Close the HTTP response (the consumer stopped reading) and free the slot."""
        try:
            self.response.close()
        finally:
            self._release()


def _is_vector(row) -> bool:
    return (
        isinstance(row, list)
        and bool(row)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in row)
    )


def _structured_messages(messages: list[Message], schema: dict, mode: str) -> list[Message]:
    """Return ``messages`` with the schema spelled out when the endpoint does not enforce it."""
    if mode == "json_schema":
        return list(messages)
    note = {"role": "system", "content": schema_instructions(schema)}
    if messages and messages[0].get("role") == "system":
        first = messages[0]
        merged = {**first, "content": f"{first.get('content') or ''}\n\n{note['content']}"}
        return [merged, *messages[1:]]
    return [note, *messages]


def _structured_format(mode: str, schema: dict, name: str) -> dict:
    """Return the request options that ask for JSON in ``mode``."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name[:64], "schema": schema, "strict": False},
            }
        }
    if mode == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {}


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
