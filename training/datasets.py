"""Training sets from labelled JSONL: read, split by prompt, and fingerprint (no database).

Reads the annotation export (``labels`` aggregated per dimension), any JSONL of the contracts'
import shape with ``labels``, and the Value FULCRA shape (``dialogue`` + ``value_types``). A
dimension absent from an example's labels is unknown (``None``) and ignored by the loss, so
partly labelled items still count.
"""

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

VALID_LABELS = (-1, 0, 1)


class DatasetError(ValueError):
    """The data cannot be trained on; the message names the file line and field."""


@dataclass(frozen=True)
class Example:
    id: str
    prompt: str
    response: str
    labels: dict[str, int | None]

    def vector(self, dimensions: Sequence[str]) -> list[int | None]:
        return [self.labels.get(key) for key in dimensions]


@dataclass(frozen=True)
class Splits:
    train: list[Example]
    validation: list[Example]
    test: list[Example]
    seed: int
    content_hash: str
    sizes: dict[str, int] = field(default_factory=dict)


def _label(value, *, line: int, key: str) -> int:
    if isinstance(value, bool):
        raise DatasetError(f"line {line}: labels.{key}: {value!r} is not -1, 0 or 1")
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text in {"-1", "0", "1", "+1"} else text
    if value not in VALID_LABELS:
        raise DatasetError(f"line {line}: labels.{key}: {value!r} is not -1, 0 or 1")
    return int(value)


def _normalise_key(key: str) -> str:
    return key.strip().lower().replace("-", "_").replace(" ", "_")


def example_from_record(record: dict, *, line: int, dimensions: Sequence[str]) -> Example:
    """Return the example a JSON record describes; raise DatasetError naming line and field."""
    fulcra = "dialogue" in record and "prompt" not in record
    if fulcra:
        prompt, response = split_fulcra_dialogue(record["dialogue"], line=line)
        pairs = [tuple(str(entry).partition(":")[::2]) for entry in record.get("value_types") or []]
    else:
        for name in ("prompt", "response"):
            if not isinstance(record.get(name), str) or not record[name].strip():
                raise DatasetError(f"line {line}: {name}: missing or empty")
        prompt, response = record["prompt"], record["response"]
        raw_labels = record.get("labels")
        if not isinstance(raw_labels, dict):
            raise DatasetError(f"line {line}: labels: missing (an object of -1/0/1 per value)")
        pairs = list(raw_labels.items())
    known = set(dimensions)
    labels: dict[str, int | None] = {}
    for raw_key, value in pairs:
        key = _normalise_key(raw_key)
        if key not in known:
            raise DatasetError(
                f"line {line}: labels.{raw_key.strip()}: not a dimension of the scheme"
            )
        if value is None:
            continue
        parsed = _label(value, line=line, key=key)
        if labels.get(key) is not None and labels[key] != parsed:
            raise DatasetError(f"line {line}: labels.{key}: given two different labels")
        labels[key] = parsed
    if fulcra:  # FULCRA lists only the values a response touches: the rest are 0
        labels = {key: 0 for key in dimensions} | labels
    if not labels:
        raise DatasetError(f"line {line}: labels: no dimension is labelled")
    identifier = str(record.get("id") or _hash_text(prompt + "\x00" + response))
    return Example(id=identifier, prompt=prompt, response=response, labels=labels)


def split_fulcra_dialogue(dialogue: str, *, line: int) -> tuple[str, str]:
    """Split FULCRA's "Human: …\\nBob: …" into the prompt and the response."""
    if (
        not isinstance(dialogue, str)
        or not dialogue.startswith("Human:")
        or "\nBob:" not in dialogue
    ):
        raise DatasetError(f'line {line}: dialogue: expected "Human: …\\nBob: …"')
    human, _, bob = dialogue.partition("\nBob:")
    return human.removeprefix("Human:").strip(), bob.strip()


def read_examples(
    path: str | Path,
    *,
    dimensions: Sequence[str],
    skip_invalid: bool = False,
    errors: list[str] | None = None,
) -> list[Example]:
    """Return every example in the JSONL file.

    Raise DatasetError at the first bad line, or with ``skip_invalid`` leave bad lines out and
    append their messages to ``errors``.
    """
    examples = []
    with open(path, encoding="utf-8") as lines:
        try:
            for number, text in enumerate(lines, start=1):
                if not text.strip():
                    continue
                try:
                    examples.append(_parse_line(text, number, dimensions))
                except DatasetError as error:
                    if not skip_invalid:
                        raise
                    if errors is not None:
                        errors.append(str(error))
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: not UTF-8 text") from None
    return examples


def _parse_line(text: str, number: int, dimensions: Sequence[str]) -> Example:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetError(f"line {number}: not valid JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise DatasetError(f"line {number}: expected a JSON object")
    return example_from_record(record, line=number, dimensions=dimensions)


def check_trainable(examples: Sequence[Example], *, dimensions: Sequence[str]) -> None:
    """Refuse a dataset nothing can be learned from: empty, or a single label everywhere."""
    if not examples:
        raise DatasetError("the dataset is empty")
    seen = {label for ex in examples for label in ex.labels.values() if label is not None}
    if len(seen) < 2:
        raise DatasetError(f"every label in the dataset is {seen.pop()}: nothing to learn")


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def content_hash(examples: Iterable[Example], dimensions: Sequence[str]) -> str:
    """Return a hash of exactly what a model learns from (order-independent)."""
    rows = sorted(
        json.dumps([ex.prompt, ex.response, ex.vector(dimensions)], ensure_ascii=False)
        for ex in examples
    )
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row.encode("utf-8") + b"\n")
    return "sha256:" + digest.hexdigest()


def split_by_prompt(
    examples: Sequence[Example],
    *,
    dimensions: Sequence[str],
    seed: int = 13,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> Splits:
    """Split into train/validation/test so that no prompt lands in two splits.

    Prompts are grouped (case and spacing folded), shuffled with ``seed``, and filled into the
    splits in turn, so the same data and seed always give the same split.
    """
    groups: dict[str, list[Example]] = {}
    for example in examples:
        groups.setdefault(" ".join(example.prompt.lower().split()), []).append(example)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    total = len(examples)
    targets = [fractions[0] * total, (fractions[0] + fractions[1]) * total]
    parts: list[list[Example]] = [[], [], []]
    placed = 0
    for key in keys:
        index = 0 if placed < targets[0] else 1 if placed < targets[1] else 2
        parts[index].extend(groups[key])
        placed += len(groups[key])
    # Small sets: make sure validation and test are not empty while train keeps the most.
    for index in (1, 2):
        if not parts[index] and len(parts[0]) > 1:
            parts[index].append(parts[0].pop())
    return Splits(
        train=parts[0],
        validation=parts[1],
        test=parts[2],
        seed=seed,
        content_hash=content_hash(examples, dimensions),
        sizes={"train": len(parts[0]), "validation": len(parts[1]), "test": len(parts[2])},
    )
