"""Streaming from the embedded chat model: generated in a thread, read as it comes."""

import threading
from collections.abc import Iterator

from django.conf import settings

from core.llm.base import LLMTimeout
from core.llm.local_files import CHAT_MODEL_NAME
from core.llm.local_models import (
    LocalChatModel,
    acquire_generation,
    failure,
    release_generation,
)


class LocalStream:
    """Generate in a thread and hand out the text as it comes (TextIteratorStreamer)."""

    def __init__(self, chat: LocalChatModel, inputs: dict, options: dict):
        self.chat = chat
        self.inputs = inputs
        self.options = options
        self.model = CHAT_MODEL_NAME
        self.prompt_tokens = int(inputs["input_ids"].shape[1])
        self.completion_tokens = 0
        self.attempts = 1
        self._stop = threading.Event()
        self._pieces = self._generate()

    def __iter__(self) -> Iterator[str]:
        return self._pieces

    def close(self) -> None:
        """Stop generating and free the model for the next request."""
        self._stop.set()
        self._pieces.close()

    def _generate(self) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = self._stop
        stream = self

        class StopWhenClosed(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:
                # Count as we go, so a stream stopped early still records its tokens.
                stream.completion_tokens = int(input_ids.shape[1]) - stream.prompt_tokens
                return stop.is_set()

        timeout = float(settings.VALUELAB_LLM_TIMEOUT)
        streamer = TextIteratorStreamer(
            self.chat.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=timeout
        )
        failed: list[Exception] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.chat.model.generate(
                        **self.inputs,
                        **self.options,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([StopWhenClosed()]),
                    )
            except Exception as exc:
                failed.append(exc)
                streamer.end()

        acquire_generation()
        worker = threading.Thread(target=run, name="local-llm-stream", daemon=True)
        try:
            worker.start()
            for piece in streamer:
                if piece:
                    yield piece
        except Exception as exc:
            stop.set()
            if "Empty" in type(exc).__name__:
                message = f"The local model produced nothing for {timeout:g} s."
                raise LLMTimeout(message)
            raise failure(exc)
        finally:
            stop.set()
            worker.join()
            release_generation()
        if failed:
            raise failure(failed[0])
