"""What every LLM backend shares: the typed errors, the result types and the backend protocol."""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from pydantic import BaseModel

from core.errors import ValueLabError

Message = dict[str, str]


class LLMError(ValueLabError):
    """An LLM call failed; the message says why in words a user can act on."""

    status_code = 502
    outcome = "error"

    def __init__(self, message: str, *, attempts: int = 1, field: str | None = None):
        super().__init__(message, field=field)
        self.attempts = attempts


class LLMUnavailable(LLMError):
    """The endpoint could not be reached, or kept failing (5xx, 429) after the retries."""

    status_code = 503


class LLMTimeout(LLMUnavailable):
    """The endpoint did not answer within VALUELAB_LLM_TIMEOUT seconds."""

    status_code = 504
    outcome = "timeout"


class LLMBudgetExceeded(LLMError):
    """The participant has used today's allowance of LLM calls."""

    status_code = 429
    outcome = "over_budget"


class LLMInvalidOutput(LLMError):
    """The model's replies never matched the requested schema."""

    outcome = "invalid"


class LLMEmptyReply(LLMInvalidOutput):
    """The endpoint answered, but with no text at all (never an "ok, 0 tokens" call)."""


class LLMRefused(LLMError):
    """The endpoint refused this request (a parameter, its length, the model): not an outage.

    Sending the same request again gets the same answer, so it is never retried and jobs do not
    wait and try later; the message says what to change.
    """

    outcome = "refused"


class LLMParameterRefused(LLMRefused):
    """The endpoint does not accept a request parameter (``parameter``: response_format, tools)."""

    def __init__(self, message: str, *, parameter: str, attempts: int = 1):
        super().__init__(message, attempts=attempts)
        self.parameter = parameter


class LLMContextExceeded(LLMRefused):
    """The prompt is longer than the model's context; ``context_tokens`` when the server said."""

    def __init__(self, message: str, *, context_tokens: int | None = None, attempts: int = 1):
        super().__init__(message, attempts=attempts)
        self.context_tokens = context_tokens


@dataclass(frozen=True)
class Generation:
    """What a chat call asks for besides the messages: the model and how to sample (None: the
    backend's default).

    Callers pass one to the gateway (``llm.chat(messages, purpose=…, ask=Generation(
    temperature=0))``); the gateway names the model before a backend sees it, so a backend always
    gets ``model`` set.
    """

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    def naming(self, model: str) -> "Generation":
        """Return this ask with the model the backend will use."""
        return replace(self, model=model)


@dataclass(frozen=True)
class ChatResult:
    """One finished completion: the text and what it cost."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1
    # True when the server sent no usage and the counts are the gateway's estimate.
    tokens_estimated: bool = False
    structured_mode: str = ""  # for structured calls: how the JSON was asked for
    tool_call: dict | None = None  # {"name", "arguments"} when the model called a tool


@dataclass(frozen=True)
class Embeddings:
    """Vectors for a list of texts, in the same order."""

    vectors: list[list[float]]
    model: str
    prompt_tokens: int = 0
    attempts: int = 1
    shape: str = "flat"  # "flat", or "per_token" rows the backend mean-pooled
    tokens_estimated: bool = False

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0


class ChatStreamSource(Protocol):
    """A backend's open stream: iterate for text deltas; the counters fill in as it goes."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """The calls the gateway makes; each raises only LLMError subclasses."""

    name: str

    def chat_model(self, model: str | None) -> str: ...

    def embedding_model(self) -> str: ...

    def chat(self, messages: list[Message], ask: Generation) -> ChatResult: ...

    def stream(self, messages: list[Message], ask: Generation) -> ChatStreamSource: ...

    def structured(
        self, messages: list[Message], schema: type[BaseModel], ask: Generation
    ) -> ChatResult: ...

    def embed(self, texts: list[str]) -> Embeddings: ...
