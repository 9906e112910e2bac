"""The embedded backend: SmolLM2-135M-Instruct for chat, all-MiniLM-L6-v2 for embeddings.

The files are found and converted in local_files, loaded (one process-wide copy, one generation at
a time) in local_models, and streamed in local_stream.

Structured output is constrained by outlines (the JSON schema becomes a token-level automaton),
because this model left free asks for JSON with Python code and prose; constrained decoding is
slower per token (see bench/README.md) but gives the schema's shape every time. Length limits are
part of the automaton too; the gateway still validates with pydantic.
"""

from pydantic import BaseModel

from core.llm.base import ChatResult, Embeddings, Generation, Message
from core.llm.local_files import CHAT_MODEL_NAME, EMBEDDING_MODEL_NAME
from core.llm.local_models import (
    LocalChatModel,
    constrained_generator,
    generation_turn,
    load_chat_model,
    load_encoder,
    reported_failures,
)
from core.llm.local_stream import LocalStream

STRUCTURED_MAX_TOKENS = 400


class LocalBackend:
    """Answer with the embedded models; model names asked for are ignored (there is one)."""

    name = "local"

    def chat_model(self, model: str | None) -> str:
        return CHAT_MODEL_NAME

    def embedding_model(self) -> str:
        return EMBEDDING_MODEL_NAME

    def chat(self, messages: list[Message], ask: Generation) -> ChatResult:
        """Return one completion from the local model."""
        import torch

        chat, inputs, options = _prepared(messages, ask)
        with generation_turn(), torch.inference_mode():
            output = chat.model.generate(**inputs, **options)
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[0, prompt_length:]
        return ChatResult(
            text=chat.tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
            model=CHAT_MODEL_NAME,
            prompt_tokens=int(prompt_length),
            completion_tokens=int(new_tokens.shape[0]),
        )

    def stream(self, messages: list[Message], ask: Generation) -> LocalStream:
        """Return a stream that starts generating when first read."""
        return LocalStream(*_prepared(messages, ask))

    def structured(
        self, messages: list[Message], schema: type[BaseModel], ask: Generation
    ) -> ChatResult:
        """Return JSON text generated under ``schema``'s constraints."""
        with reported_failures():
            chat = load_chat_model()
            generator = constrained_generator(chat, schema)
            prompt = chat.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        with generation_turn():
            text = generator(
                prompt,
                max_new_tokens=ask.max_tokens or STRUCTURED_MAX_TOKENS,
                pad_token_id=chat.tokenizer.eos_token_id,
            )
        return ChatResult(
            text=text,
            model=CHAT_MODEL_NAME,
            prompt_tokens=len(chat.tokenizer(prompt)["input_ids"]),
            completion_tokens=len(chat.tokenizer(text)["input_ids"]),
        )

    def embed(self, texts: list[str]) -> Embeddings:
        """Return one normalised MiniLM vector per text."""
        with reported_failures():
            vectors, tokens = load_encoder().encode(texts)
        return Embeddings(vectors=vectors, model=EMBEDDING_MODEL_NAME, prompt_tokens=tokens)


def _prepared(messages: list[Message], ask: Generation) -> tuple[LocalChatModel, dict, dict]:
    """Return the loaded chat model, the prompt's input and the generation options."""
    with reported_failures():
        chat = load_chat_model()
        options = chat.generation_options(ask.temperature, ask.max_tokens)
        inputs = chat.prompt_ids(messages, options["max_new_tokens"])
    return chat, inputs, options
