"""Benchmark the embedded local LLM: conversion, loads, first token, speed, structured, embeddings.

    python bench/bench_local_llm.py [--fresh-cache]

``--fresh-cache`` converts into a temporary VALUELAB_MODEL_CACHE so the cold conversion is timed
even when the usual cache exists. Prints a small table; nothing is written to the database.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
os.environ["OPENAI_BASE_URL"] = ""  # the local backend, whatever the shell says
os.environ["OPENAI_API_KEY"] = ""

import django  # noqa: E402

django.setup()

import torch  # noqa: E402
from django.conf import settings  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from core.llm import local  # noqa: E402
from core.llm.base import ChatResult  # noqa: E402


class ValuesCard(BaseModel):
    title: str = Field(max_length=60)
    description: str = Field(max_length=300)
    policies: list[str] = Field(min_length=1, max_length=3)


ANSWER_PROMPT = [
    {"role": "user", "content": "Explain in about 80 words why honesty matters in friendship."}
]
CARD_PROMPT = [
    {"role": "system", "content": "Write a values card as JSON: title, description, policies."},
    {"role": "user", "content": "I want to be honest when a friend asks about their work."},
]
SENTENCES = [f"Sentence number {i} about values, honesty and care for others." for i in range(256)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh-cache", action="store_true", help="time a cold conversion")
    options = parser.parse_args()
    if local.gguf_path() is None:
        sys.exit(f"{local.CHAT_GGUF} is not installed ({local.CHAT_PACKAGE}).")
    rows: list[tuple[str, str]] = [("CPU threads (torch)", str(torch.get_num_threads()))]
    if options.fresh_cache:
        fresh = Path(tempfile.mkdtemp(prefix="valuelab-bench-"))
        settings.VALUELAB_MODEL_CACHE = fresh
    _, created, seconds = local.prepare_chat_model()
    rows.append(("cold conversion from GGUF", f"{seconds:.1f} s" if created else "cached"))

    started = time.monotonic()
    local.load_chat_model()
    rows.append(("first load (incl. lazy imports)", f"{time.monotonic() - started:.2f} s"))
    local._chat = None  # load again: the warm load a restarted worker pays after its imports
    started = time.monotonic()
    local.load_chat_model()
    rows.append(("warm load from the cache", f"{time.monotonic() - started:.2f} s"))

    backend = local.LocalBackend()
    backend.chat(ANSWER_PROMPT, model="", temperature=None, max_tokens=8)  # warm-up
    stream = backend.stream(ANSWER_PROMPT, model="", temperature=None, max_tokens=120)
    started = time.monotonic()
    first_token_at = None
    for _ in stream:
        if first_token_at is None:
            first_token_at = time.monotonic()
    finished = time.monotonic()
    tokens = stream.completion_tokens
    rows.append(("time to first token (stream)", f"{(first_token_at - started) * 1000:.0f} ms"))
    rows.append(
        (
            f"streaming speed ({tokens} tokens)",
            f"{tokens / (finished - first_token_at):.1f} tokens/s",
        )
    )

    started = time.monotonic()
    reply: ChatResult = backend.structured(
        CARD_PROMPT, schema=ValuesCard, model="", temperature=None, max_tokens=None
    )
    seconds = time.monotonic() - started
    ValuesCard.model_validate_json(reply.text)
    rows.append(
        (
            "structured values card, first (builds index)",
            f"{seconds:.1f} s, {reply.completion_tokens} tokens",
        )
    )
    started = time.monotonic()
    reply = backend.structured(
        CARD_PROMPT, schema=ValuesCard, model="", temperature=None, max_tokens=None
    )
    rows.append(("structured values card, again", f"{time.monotonic() - started:.1f} s"))

    backend.embed(SENTENCES[:4])  # load the encoder
    started = time.monotonic()
    backend.embed(SENTENCES)
    rate = len(SENTENCES) / (time.monotonic() - started)
    rows.append((f"embeddings ({len(SENTENCES)} sentences)", f"{rate:.0f} texts/s"))

    width = max(len(name) for name, _ in rows)
    print(f"\n{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 24}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print(f"\nstructured sample: {reply.text}")
    if options.fresh_cache:
        shutil.rmtree(fresh, ignore_errors=True)


if __name__ == "__main__":
    main()
