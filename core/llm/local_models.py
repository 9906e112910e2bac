"""The embedded models loaded: process-wide singletons, and the lock that serialises generation.

The model is loaded on first use under a lock, and generation is serialised by another lock: one
CPU model answering two requests at once would only make both slow. A request waits at most
VALUELAB_LLM_TIMEOUT seconds for its turn, then gets LLMTimeout.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from pydantic import BaseModel

from core.llm.base import LLMError, LLMTimeout, Message
from core.llm.local_files import EMBEDDING_PACKAGE, encoder_path, prepare_chat_model

logger = logging.getLogger("core.llm.local")

DEFAULT_MAX_TOKENS = 256
EMBEDDING_BATCH = 32

_load_lock = threading.Lock()
_generation_lock = threading.Lock()
_chat: "LocalChatModel | None" = None
_encoder: "LocalEncoder | None" = None


@dataclass
class LocalChatModel:
    """SmolLM2 loaded from the cache, with a constrained generator per schema (built lazily)."""

    model: Any
    tokenizer: Any
    generators: dict

    def prompt_ids(self, messages: list[Message], max_new_tokens: int):
        """Return the chat-templated input, cut from the left to fit the context window.

        When the last message is the assistant's, the model goes on from it (the caller wrote
        the start of the reply) instead of starting a new one.
        """
        go_on = bool(messages) and messages[-1].get("role") == "assistant"
        inputs = self.tokenizer.apply_chat_template(
            messages,
            add_generation_prompt=not go_on,
            continue_final_message=go_on,
            return_tensors="pt",
            return_dict=True,
        )
        room = self.model.config.max_position_embeddings - max_new_tokens
        if inputs["input_ids"].shape[1] > room:
            # A long interview keeps its latest turns; the start matters least to the next reply.
            inputs = {key: value[:, -room:] for key, value in inputs.items()}
        return inputs

    def generation_options(self, temperature: float | None, max_tokens: int | None) -> dict:
        options: dict[str, Any] = {
            "max_new_tokens": max_tokens or DEFAULT_MAX_TOKENS,
            # This small model loops without it.
            "repetition_penalty": 1.1,
            "pad_token_id": self.tokenizer.eos_token_id,
        }
        if temperature:
            options.update(do_sample=True, temperature=temperature, top_p=0.95)
        else:
            options.update(do_sample=False)  # greedy: the same prompt gives the same reply
        return options


def load_chat_model() -> LocalChatModel:
    """Return the process-wide chat model, converting and loading it on first use."""
    global _chat
    if _chat is not None:
        return _chat
    with _load_lock:
        if _chat is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            directory, _, _ = prepare_chat_model()
            tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                directory, local_files_only=True, dtype=torch.bfloat16
            )
            model.eval()
            _chat = LocalChatModel(model=model, tokenizer=tokenizer, generators={})
    return _chat


@dataclass
class LocalEncoder:
    """all-MiniLM-L6-v2: mean-pooled, L2-normalised sentence embeddings (384 dimensions)."""

    model: Any
    tokenizer: Any
    lock: threading.Lock

    def encode(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Return the vectors for ``texts`` and the number of tokens read."""
        import torch

        vectors: list[list[float]] = []
        tokens = 0
        with self.lock, torch.inference_mode():
            for start in range(0, len(texts), EMBEDDING_BATCH):
                batch = self.tokenizer(
                    texts[start : start + EMBEDDING_BATCH],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                normalised = torch.nn.functional.normalize(pooled, p=2, dim=1)
                vectors += normalised.tolist()
                tokens += int(batch["attention_mask"].sum())
        return vectors, tokens


def load_encoder() -> LocalEncoder:
    """Return the process-wide sentence encoder, loading it on first use."""
    global _encoder
    if _encoder is not None:
        return _encoder
    with _load_lock:
        if _encoder is None:
            from transformers import AutoModel, AutoTokenizer

            directory = encoder_path()
            if directory is None:
                raise LLMError(
                    f"The local embedding model is not installed: the {EMBEDDING_PACKAGE} "
                    "package was not found. Install requirements-models.txt, or set "
                    "OPENAI_BASE_URL."
                )
            tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
            model = AutoModel.from_pretrained(directory, local_files_only=True)
            model.eval()
            _encoder = LocalEncoder(model=model, tokenizer=tokenizer, lock=threading.Lock())
    return _encoder


def acquire_generation() -> None:
    """Wait for the model to be free, at most VALUELAB_LLM_TIMEOUT seconds."""
    timeout = float(settings.VALUELAB_LLM_TIMEOUT)
    if not _generation_lock.acquire(timeout=timeout):
        raise LLMTimeout(
            f"The local model was busy with other requests for {timeout:g} s. Please try again."
        )


def release_generation() -> None:
    """Free the model for the next request."""
    _generation_lock.release()


@contextmanager
def generation_turn() -> Iterator[None]:
    """Hold the model for one generation; its errors become LLMError (logged)."""
    acquire_generation()
    try:
        yield
    except Exception as exc:
        raise failure(exc)
    finally:
        release_generation()


def failure(exc: Exception) -> LLMError:
    """Log ``exc`` and return it as the LLMError a caller sees."""
    logger.exception("The local model failed")
    return LLMError(f"The local model failed: {type(exc).__name__}: {exc}"[:500])


@contextmanager
def reported_failures() -> Iterator[None]:
    """Let LLMError through and turn any other error into one (logged)."""
    try:
        yield
    except LLMError:
        raise
    except Exception as exc:
        raise failure(exc)


def constrained_generator(chat: LocalChatModel, schema: type[BaseModel]):
    """Return outlines' generator for ``schema``, built once per schema (it compiles an index)."""
    with _load_lock:
        generator = chat.generators.get(schema)
        if generator is None:
            import outlines

            wrapped = chat.generators.get("__model__")
            if wrapped is None:
                wrapped = chat.generators["__model__"] = outlines.from_transformers(
                    chat.model, chat.tokenizer
                )
            generator = chat.generators[schema] = outlines.Generator(wrapped, schema)
    return generator
