"""The backend for any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server).

Retries, and the typed error each failure becomes: ``core.llm.openai_retries``. The streamed
reply: ``core.llm.openai_stream``.

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

from dataclasses import replace
from functools import lru_cache
from urllib.parse import urlsplit

import openai
from django.conf import settings
from pydantic import BaseModel

from core.llm import capabilities
from core.llm.base import (
    ChatResult,
    Embeddings,
    Generation,
    LLMContextExceeded,
    LLMEmptyReply,
    LLMParameterRefused,
    LLMUnavailable,
    Message,
)
from core.llm.capabilities import Capabilities
from core.llm.context import estimate_messages, estimate_tokens, fit_messages
from core.llm.embeddings import embeddings_checked
from core.llm.openai_retries import RetriesAndErrors
from core.llm.openai_stream import OpenAIStream
from core.llm.schemas import sendable_schema, structured_format, structured_messages

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
OPENAI_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "not-needed"  # vLLM, Ollama and llama.cpp ignore the key, the client wants one
DEFAULT_RESERVE = 512  # completion tokens kept free when the caller sets no max_tokens


@lru_cache(maxsize=8)
def _client(base_url: str, api_key: str, timeout: float) -> openai.OpenAI:
    # One client (and so one connection pool) per configuration; tests change the settings.
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


class OpenAIBackend(RetriesAndErrors):
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

    def fit(self, messages: list[Message], ask: Generation) -> list[Message]:
        """Return ``messages`` trimmed (oldest turns first) to the model's context."""
        reserve = ask.max_tokens or DEFAULT_RESERVE
        budget = max(256, self.context_tokens(ask.model) - reserve)
        fitted, _ = fit_messages(messages, budget=budget)
        return fitted

    # --- calls -----------------------------------------------------------------------------

    def chat(
        self, messages: list[Message], ask: Generation, *, extra: dict | None = None
    ) -> ChatResult:
        """Return one completion, retrying transient failures and a context overflow once."""
        fitted = self.fit(messages, ask)
        try:
            return self._chat_once(fitted, ask, extra)
        except LLMContextExceeded as error:
            refitted = self.learn_context(error, fitted, ask)
            if refitted is None:
                raise
            return self._chat_once(refitted, ask, extra)

    def learn_context(
        self, error: LLMContextExceeded, sent: list[Message], ask: Generation
    ) -> list[Message] | None:
        """Remember the context size a refusal revealed; return a shorter prompt to try, or None.

        When the server named its context size, that is remembered; otherwise three quarters of
        what was sent. None when trimming cannot make the prompt any shorter.
        """
        known = self.capabilities(ask.model).context_tokens
        size = error.context_tokens or int(
            estimate_messages(sent, chars_per_token=3.0) * 0.75
            + (ask.max_tokens or DEFAULT_RESERVE)
        )
        if known:
            size = min(size, known - 1) if not error.context_tokens else size
        capabilities.remember(self.base_url, ask.model, context_tokens=max(512, size))
        refitted = self.fit(sent, ask)
        return refitted if len(refitted) < len(sent) else None

    def _chat_once(
        self, messages: list[Message], ask: Generation, extra: dict | None
    ) -> ChatResult:
        options = _options(ask) | (extra or {})

        def send():
            return self.client.chat.completions.create(
                model=ask.model, messages=messages, **options
            )

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
            model=completion.model or ask.model,
            prompt_tokens=usage.prompt_tokens if usage else estimate_messages(messages),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens(text),
            attempts=attempts,
            tokens_estimated=usage is None,
            tool_call=tool_call,
        )

    def structured(
        self, messages: list[Message], schema: type[BaseModel], ask: Generation
    ) -> ChatResult:
        """Return a completion asked to follow ``schema`` (validated by the caller).

        Starts from the mode remembered for this endpoint and model, and falls back (remembering
        the one that worked) when the endpoint refuses the way JSON was asked for.
        """
        known = self.capabilities(ask.model).structured_mode
        modes = capabilities.STRUCTURED_MODES
        sent = sendable_schema(schema)
        attempts = 0
        for mode in modes[modes.index(known) if known in modes else 0 :]:
            try:
                result = self.chat(
                    structured_messages(messages, sent, mode),
                    ask,
                    extra=structured_format(mode, sent, schema.__name__),
                )
            except LLMParameterRefused as error:
                if error.parameter != "response_format" or mode == modes[-1]:
                    raise
                attempts += error.attempts
                continue
            if mode != known:
                capabilities.remember(self.base_url, ask.model, structured_mode=mode)
            return replace(result, structured_mode=mode, attempts=result.attempts + attempts)
        raise AssertionError("unreachable: the last mode sends no response_format")

    def stream(
        self, messages: list[Message], ask: Generation, *, tools: list[dict] | None = None
    ) -> OpenAIStream:
        """Open a streamed completion now (so connection errors surface here) and return it.

        ``tools`` are offered unless this endpoint refused them before; a refusal of them is
        remembered and the request sent again without.
        """
        if tools and self.capabilities(ask.model).auto_tools is False:
            tools = None
        fitted = self.fit(messages, ask)
        try:
            return self._open_stream(fitted, ask, tools)
        except LLMParameterRefused as error:
            if not tools or error.parameter != "tools":
                raise
            capabilities.remember(self.base_url, ask.model, auto_tools=False)
            return self.stream(messages, ask)
        except LLMContextExceeded as error:
            refitted = self.learn_context(error, fitted, ask)
            if refitted is None:
                raise
            return self._open_stream(refitted, ask, tools)

    def _open_stream(
        self, messages: list[Message], ask: Generation, tools: list[dict] | None
    ) -> OpenAIStream:
        options = _options(ask)
        if tools:
            options |= {"tools": tools, "tool_choice": "auto"}

        def send():
            return self.client.chat.completions.create(
                model=ask.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                **options,
            )

        response, attempts, slot = self._with_retries(send, hold_slot=True)
        return OpenAIStream(
            self, response, messages=messages, ask=ask, attempts=attempts, slot=slot
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
        vectors, shape = embeddings_checked(
            [item.embedding for item in ordered], texts, host=self.embedding_host
        )
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


def _options(ask: Generation) -> dict:
    options = {}
    if ask.temperature is not None:
        options["temperature"] = ask.temperature
    if ask.max_tokens is not None:
        options["max_tokens"] = ask.max_tokens
    return options
