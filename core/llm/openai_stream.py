"""A streamed completion from an OpenAI-compatible endpoint, read as text deltas."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

import openai

from core.llm import slots
from core.llm.base import (
    Generation,
    LLMEmptyReply,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    Message,
)
from core.llm.context import estimate_messages

if TYPE_CHECKING:
    from core.llm.openai_backend import OpenAIBackend


class OpenAIStream:
    """An open streamed completion: iterate for text deltas; usage arrives with the last chunk.

    A stream that ends without any text is asked again without streaming: a server that cannot
    stream this request (llama-cpp-python sends an empty stream for a prompt over its context)
    then either answers or says why not. Without a usage chunk the counts are estimated.
    """

    def __init__(
        self,
        backend: "OpenAIBackend",
        response,
        *,
        messages: list[Message],
        ask: Generation,
        attempts: int,
        slot: slots.Slot | None = None,
    ):
        self.backend = backend
        self.response = response
        self.model = ask.model
        self.attempts = attempts
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.tokens_estimated = False
        self.tool_call: dict | None = None
        self._slot = slot
        self._messages = messages  # what was asked: to ask again, to estimate its tokens
        self._ask = ask
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
            self.prompt_tokens = estimate_messages(self._messages)

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
        if not self._messages:
            raise LLMEmptyReply(
                f"The LLM endpoint at {self.backend.host} sent an empty reply.",
                attempts=self.attempts,
            )
        try:
            result = self.backend.chat(self._messages, self._ask.naming(self.model))
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
