"""Training sets from labelled JSONL: read, split by prompt, and fingerprint (no database).

Reads the annotation export, any JSONL of the contracts' import shape with ``labels``, and the
Value FULCRA shape (``dialogue`` + ``value_types``) through annotation's import reader, so a
line is read, and refused, exactly as ``import_items`` would. An export's item counts with its
people's aggregated labels once someone labelled it, else with its reference (gold) labels;
an item with neither is unlabelled and left out, never read as "0 on every value". A dimension
absent from an example's labels is unknown (``None``) and ignored by the loss.
"""

import hashlib
import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from annotation import importing, item_records

VALID_LABELS = (-1, 0, 1)
# Where an example's labels came from, as the model card reports it.
HUMAN, REFERENCE, FILE = "human", "reference", "file"


class DatasetError(ValueError):
    """The data cannot be trained on; the message names the file line and field."""


class Unlabelled(DatasetError):
    """The record carries no labels at all: left out of training, not an error."""


@dataclass(frozen=True)
class Example:
    id: str
    prompt: str
    response: str
    labels: dict[str, int | None]
    source: str = FILE

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


@dataclass
class ReadReport:
    """What a file gave: the examples, every bad line, and the unlabelled items left out."""

    examples: list[Example]
    errors: list[str]
    unlabelled: int
    lines: int

    def sources(self) -> dict[str, int]:
        """Return how many examples took their labels from each source."""
        return dict(sorted(Counter(example.source for example in self.examples).items()))


def _is_export(record: dict) -> bool:
    return "n_annotations" in record or "annotations" in record


def _known(labels: object) -> object:
    # An export or a partly labelled file may write an unknown dimension as null.
    if isinstance(labels, dict):
        return {key: value for key, value in labels.items() if value is not None}
    return labels


def example_from_record(record: dict, *, line: int, dimensions: Sequence[str]) -> Example:
    """Return the example a JSON record describes.

    Raise ``Unlabelled`` when it carries no labels, ``DatasetError`` naming the line and field
    (as an import names it) when it cannot be read.
    """
    if not isinstance(record, dict):
        raise DatasetError(f"line {line}: line: expected an object")
    source = FILE
    if _is_export(record):
        human = _known(record.get("labels"))
        reference = _known(record.get("reference"))
        if (record.get("n_annotations") or 0) > 0 and human:
            labels, source = human, HUMAN
        elif reference:
            labels, source = reference, REFERENCE
        else:
            raise Unlabelled(f"line {line}: no labels")
        record = {key: record.get(key) for key in ("id", "prompt", "response")} | {"labels": labels}
    elif "dialogue" in record and "prompt" not in record:
        # FULCRA lists the values a response touches; a row listing none was never labelled.
        if not record.get("value_types"):
            raise Unlabelled(f"line {line}: no value_types")
    else:
        record = dict(record) | {"labels": _known(record.get("labels"))}
    parsed = item_records.record_or_error(
        record, line=line, labels=item_records.LabelReader(list(dimensions))
    )
    if isinstance(parsed, item_records.LineError):
        raise DatasetError(str(parsed))
    if not parsed.reference_labels:
        raise Unlabelled(f"line {line}: no labels")
    return Example(
        id=parsed.external_id,
        prompt=parsed.prompt,
        response=parsed.response,
        labels=dict(parsed.reference_labels),
        source=source,
    )


def read_labelled(
    path: str | Path, *, dimensions: Sequence[str], skip_invalid: bool = False
) -> ReadReport:
    """Return the examples of a JSONL file, the bad lines and the unlabelled items left out.

    Without ``skip_invalid`` a file with any bad line is refused: DatasetError lists every one
    as ``line N: field: what is wrong`` (as an import does).
    """
    examples, errors, unlabelled, lines = [], [], 0, 0
    try:
        with open(path, "rb") as stream:
            for number, text in importing.text_lines(stream):
                if not text.strip():
                    continue
                lines += 1
                try:
                    examples.append(_parse_line(text, number, dimensions))
                except Unlabelled:
                    unlabelled += 1
                except DatasetError as error:
                    errors.append(str(error))
    except importing.ImportFileError as error:
        raise DatasetError(str(error).replace("; nothing was stored", "")) from None
    if errors and not skip_invalid:
        raise DatasetError(
            f"{len(errors)} of {lines} lines cannot be read (--skip-invalid trains on the "
            "others): " + "; ".join(errors)
        )
    return ReadReport(examples=examples, errors=errors, unlabelled=unlabelled, lines=lines)


def read_examples(
    path: str | Path,
    *,
    dimensions: Sequence[str],
    skip_invalid: bool = False,
    errors: list[str] | None = None,
) -> list[Example]:
    """Return every labelled example in the JSONL file (see :func:`read_labelled`); with
    ``skip_invalid`` append the bad lines' messages to ``errors``."""
    report = read_labelled(path, dimensions=dimensions, skip_invalid=skip_invalid)
    if errors is not None:
        errors.extend(report.errors)
    return report.examples


def _parse_line(text: str, number: int, dimensions: Sequence[str]) -> Example:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetError(f"line {number}: json: not valid JSON ({error.msg})") from None
    except RecursionError:  # json.loads recurses once per nesting level
        raise DatasetError(f"line {number}: json: nested too deeply") from None
    if not isinstance(record, dict):
        raise DatasetError(f"line {number}: line: expected a JSON object")
    return example_from_record(record, line=number, dimensions=dimensions)


def check_trainable(examples: Sequence[Example], *, dimensions: Sequence[str]) -> None:
    """Refuse a dataset nothing can be learned from: empty, or a single label everywhere."""
    if not examples:
        raise DatasetError("the dataset is empty")
    seen = {label for ex in examples for label in ex.labels.values() if label is not None}
    if len(seen) < 2:
        raise DatasetError(f"every label in the dataset is {seen.pop()}: nothing to learn")


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
