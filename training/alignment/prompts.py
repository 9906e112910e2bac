"""The target, the prompts and their format: read, checked, split into held-out and training
prompts, and put in the policy's format (chat messages or raw text)."""

import json
import random
from collections.abc import Sequence
from pathlib import Path

from core.jsonl import JsonlError, jsonl_read
from training.alignment.config import AlignmentError
from training.targets import TargetError, validate_vector


def read_target(path_or_dict: str | Path | dict, dimensions: Sequence[str]) -> dict[str, float]:
    """Return the target vector as {dimension: value in [-1, 1]}; refuse a missing dimension."""
    if isinstance(path_or_dict, dict):
        target = path_or_dict
    else:
        try:
            target = json.loads(Path(path_or_dict).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise AlignmentError(f"cannot read the target {path_or_dict}: {error}") from None
    try:
        return validate_vector(target, dimensions)
    except TargetError as error:
        raise AlignmentError(f"target: {error}") from None


def read_prompts(path: str | Path) -> list[str]:
    """Return the prompts of a JSONL file of {"prompt": str}, naming the first bad line."""
    prompts = []
    try:
        for number, record in jsonl_read(path):
            prompt = record.get("prompt") if isinstance(record, dict) else None
            if not isinstance(prompt, str) or not prompt.strip():
                raise AlignmentError(f"line {number}: prompt: missing or empty")
            prompts.append(prompt)
    except JsonlError as error:
        raise AlignmentError(str(error)) from None
    if not prompts:
        raise AlignmentError("the prompts file is empty")
    return prompts


def has_chat_template(tokenizer) -> bool:
    """Return whether the tokenizer carries a chat template (an instruct or chat model)."""
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_format(tokenizer) -> str:
    """Return "chat" for a tokenizer with a chat template, "text" for a base model's."""
    return "chat" if has_chat_template(tokenizer) else "text"


def as_policy_prompt(prompt: str, fmt: str) -> str | list[dict[str, str]]:
    """Return the prompt in the policy's format: TRL's conversational messages, or raw text."""
    return [{"role": "user", "content": prompt}] if fmt == "chat" else prompt


def split_prompts(
    prompts: Sequence[str], *, report_prompts: int, seed: int
) -> tuple[list[str], list[str]]:
    """Return (held-out prompts for the report, training prompts), distinct and disjoint.

    The held-out set is a seeded sample of ``report_prompts`` distinct prompts, at most half of
    them, so that the report never reads answers to prompts the policy trained on.
    """
    distinct = list(dict.fromkeys(prompts))
    if len(distinct) < 2:
        raise AlignmentError("give at least two different prompts")
    shuffled = distinct[:]
    random.Random(seed).shuffle(shuffled)
    n = max(1, min(report_prompts, len(distinct) // 2))
    return shuffled[:n], shuffled[n:]
