"""What a record of an item file means (contracts.md, "Import of items to annotate"); no database.

A record is one decoded JSONL line or CSV row, in either shape: plain (``prompt``, ``response``,
optional ``labels``) or FULCRA's (``dialogue``, ``value_types``). ``record_to_item`` turns it into a
``ParsedItem`` or raises ``LineInvalid`` naming the field; ``record_or_error`` gives the
``LineError`` instead. Reading the file itself (encoding, lines, JSONL or CSV) is
``annotation.importing``'s.
"""

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_ID_LENGTH = 200
MAX_SOURCE_LENGTH = 200
# FULCRA's dialogue: "Human: <prompt>\nBob: <response>"; the last assistant turn is the response.
HUMAN_PREFIX = "Human:"
ASSISTANT_MARKERS = ("\nBob:", "\nAssistant:")
LABEL_SPELLINGS = {"+1": 1, "1": 1, "0": 0, "-1": -1}


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass(frozen=True)
class ParsedItem:
    line: int
    external_id: str
    prompt: str
    response: str
    source: str
    meta: dict
    reference_labels: dict[str, int] | None


class LineInvalid(Exception):
    """Raised while reading one record (here or by the file's reader); becomes a LineError for
    that line."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_dimension(name: str) -> str:
    """Return the form dimension names are compared in: lower case, ``-`` and spaces as ``_``."""
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def parse_label(value: object) -> int:
    """Return -1, 0 or 1 for a label written ``-1``/``0``/``1``/``+1`` (number or text).

    Raise ``ValueError`` for anything else: ``=1`` or ``1+`` may be typos for +1 or -1, so
    guessing would put wrong gold labels in the data.
    """
    if isinstance(value, bool):  # JSON true is an int to Python, but not a label
        raise ValueError(f"{json.dumps(value)} is not a label (use -1, 0 or +1)")
    if isinstance(value, int) and value in (-1, 0, 1):
        return value
    if isinstance(value, str) and value.strip() in LABEL_SPELLINGS:
        return LABEL_SPELLINGS[value.strip()]
    raise ValueError(f"{json.dumps(value)} is not a label (use -1, 0 or +1)")


def item_hash(prompt: str, response: str) -> str:
    """Return the id of an item that has none: the sha256 of its prompt and response."""
    return hashlib.sha256((prompt + "\x00" + response).encode("utf-8")).hexdigest()


def split_dialogue(dialogue: object) -> tuple[str, str]:
    """Split FULCRA's ``"Human: …\\nBob: …"`` into (prompt, response).

    Earlier turns of a longer dialogue stay in the prompt, as the context of the last answer.
    """
    if not isinstance(dialogue, str) or not dialogue.startswith(HUMAN_PREFIX):
        raise LineInvalid("dialogue", 'expected text starting "Human: "')
    cut, marker = max((dialogue.rfind(m), m) for m in ASSISTANT_MARKERS)
    if cut < 0:
        raise LineInvalid("dialogue", 'no answer turn ("\\nBob: …") found')
    prompt = dialogue[len(HUMAN_PREFIX) : cut].strip()
    response = dialogue[cut + len(marker) :].strip()
    if not prompt:
        raise LineInvalid("dialogue", "the human turn is empty")
    if not response:
        raise LineInvalid("dialogue", "the answer turn is empty")
    return prompt, response


class LabelReader:
    """Turn (dimension name, label) pairs into ``{key: label}`` for one scheme."""

    def __init__(self, dimension_keys: Sequence[str]):
        self.keys = list(dimension_keys)
        self.by_normal_name = {normalise_dimension(key): key for key in self.keys}

    def read(self, pairs: Iterable[tuple[str, str, object]], *, fill_zeros: bool) -> dict:
        """Return labels in scheme order from (field, dimension, label) triples.

        Raise ``LineInvalid`` naming the field of the first problem. ``fill_zeros`` gives
        unlisted dimensions 0 (FULCRA lists only the values a response touches).
        """
        labels: dict[str, int] = {}
        for field, name, raw_label in pairs:
            key = self.by_normal_name.get(normalise_dimension(str(name)))
            if key is None:
                raise LineInvalid(field, f"{str(name).strip()!r} is not a dimension of the scheme")
            try:
                label = parse_label(raw_label)
            except ValueError as error:
                raise LineInvalid(field, str(error))
            if key in labels and labels[key] != label:
                raise LineInvalid(
                    field, f"{key} is given two different labels ({labels[key]:+d} and {label:+d})"
                )
            labels[key] = label
        if fill_zeros:
            return {key: labels.get(key, 0) for key in self.keys}
        return {key: labels[key] for key in self.keys if key in labels}


def record_to_item(record: object, *, line: int, labels: LabelReader) -> ParsedItem:
    """Return the item a decoded record describes, in either shape; raise ``LineInvalid``."""
    if not isinstance(record, dict):
        raise LineInvalid("line", "expected an object")
    if "dialogue" in record and "prompt" not in record:
        item = _fulcra_item(record, line=line, labels=labels)
    else:
        item = _plain_item(record, line=line, labels=labels)
    # PostgreSQL cannot store NUL in text or JSON; refusing the line here names it, where the
    # database would fail the whole import with no line number.
    for name in ("prompt", "response", "source", "external_id"):
        if "\x00" in getattr(item, name):
            raise LineInvalid(name, "contains a NUL character")
    if "\\u0000" in json.dumps(item.meta):
        raise LineInvalid("meta", "contains a NUL character")
    return item


def record_or_error(record: object, *, line: int, labels: LabelReader) -> ParsedItem | LineError:
    """Return the item a decoded record describes, or the ``LineError`` naming what is wrong
    (the same reading as an import, for code outside this module: training reads with it)."""
    try:
        return record_to_item(record, line=line, labels=labels)
    except LineInvalid as error:
        return LineError(line, error.field, error.message)


def _plain_item(record: dict, *, line: int, labels: LabelReader) -> ParsedItem:
    for name in ("prompt", "response"):
        if name not in record or record[name] is None:
            raise LineInvalid(name, "missing")
        if not isinstance(record[name], str) or not record[name].strip():
            raise LineInvalid(name, "must be non-empty text")
    prompt, response = record["prompt"], record["response"]
    source = _optional_text(record, "source", MAX_SOURCE_LENGTH)
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise LineInvalid("meta", "must be an object")
    reference = None
    raw_labels = record.get("labels")
    if raw_labels is not None:
        if not isinstance(raw_labels, dict):
            raise LineInvalid("labels", "must be an object of dimension: -1, 0 or +1")
        pairs = [(f"labels.{name}", name, label) for name, label in raw_labels.items()]
        reference = labels.read(pairs, fill_zeros=False) or None
    return ParsedItem(
        line=line,
        external_id=_external_id(record, prompt, response),
        prompt=prompt,
        response=response,
        source=source,
        meta=meta,
        reference_labels=reference,
    )


def _fulcra_item(record: dict, *, line: int, labels: LabelReader) -> ParsedItem:
    prompt, response = split_dialogue(record["dialogue"])
    value_types = record.get("value_types")
    if value_types is None:
        value_types = []
    if not isinstance(value_types, list):
        raise LineInvalid("value_types", 'must be a list like ["security: +1"]')
    pairs = []
    for index, entry in enumerate(value_types):
        field = f"value_types[{index}]"
        if not isinstance(entry, str) or ":" not in entry:
            raise LineInvalid(field, f'{json.dumps(entry)} is not "dimension: label"')
        name, _, raw_label = entry.rpartition(":")
        pairs.append((field, name, raw_label.strip()))
    reference = labels.read(pairs, fill_zeros=True)
    meta = {
        name: record[name]
        for name in ("query_source", "response_source", "value_items")
        if name in record
    }
    return ParsedItem(
        line=line,
        external_id=_external_id(record, prompt, response),
        prompt=prompt,
        response=response,
        source=_optional_text(record, "response_source", MAX_SOURCE_LENGTH),
        meta=meta,
        reference_labels=reference,
    )


def _optional_text(record: dict, name: str, max_length: int) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise LineInvalid(name, "must be text")
    if len(value) > max_length:
        raise LineInvalid(name, f"longer than {max_length} characters")
    return value


def _external_id(record: dict, prompt: str, response: str) -> str:
    value = record.get("id")
    if value is None or value == "":
        return item_hash(prompt, response)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LineInvalid("id", "must be text or a whole number")
    value = str(value)
    if len(value) > MAX_ID_LENGTH:
        raise LineInvalid("id", f"longer than {MAX_ID_LENGTH} characters")
    return value
