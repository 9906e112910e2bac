"""Read files of items to annotate (contracts.md, "Import of items to annotate"); no database.

``parse_items`` reads a binary stream line by line and yields a ``ParsedItem`` per good record
and a ``LineError`` per bad one, so a caller can store the good ones in batches and never hold
the file in memory. Problems with the file as a whole (not UTF-8, empty, a CSV without the
needed columns, a line over the size limit) raise ``ImportFileError``: nothing of such a file
should be stored.
"""

import codecs
import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE_BYTES = 1_000_000
MAX_ID_LENGTH = 200
MAX_SOURCE_LENGTH = 200
# FULCRA's dialogue: "Human: <prompt>\nBob: <response>"; the last assistant turn is the response.
HUMAN_PREFIX = "Human:"
ASSISTANT_MARKERS = ("\nBob:", "\nAssistant:")
LABEL_SPELLINGS = {"+1": 1, "1": 1, "0": 0, "-1": -1}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why in words."""


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


class _LineInvalid(Exception):
    """Raised while reading one record; becomes a LineError for that line."""

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
        raise _LineInvalid("dialogue", 'expected text starting "Human: "')
    cut, marker = max((dialogue.rfind(m), m) for m in ASSISTANT_MARKERS)
    if cut < 0:
        raise _LineInvalid("dialogue", 'no answer turn ("\\nBob: …") found')
    prompt = dialogue[len(HUMAN_PREFIX) : cut].strip()
    response = dialogue[cut + len(marker) :].strip()
    if not prompt:
        raise _LineInvalid("dialogue", "the human turn is empty")
    if not response:
        raise _LineInvalid("dialogue", "the answer turn is empty")
    return prompt, response


class LabelReader:
    """Turn (dimension name, label) pairs into ``{key: label}`` for one scheme."""

    def __init__(self, dimension_keys: Sequence[str]):
        self.keys = list(dimension_keys)
        self.by_normal_name = {normalise_dimension(key): key for key in self.keys}

    def read(self, pairs: Iterable[tuple[str, str, object]], *, fill_zeros: bool) -> dict:
        """Return labels in scheme order from (field, dimension, label) triples.

        Raise ``_LineInvalid`` naming the field of the first problem. ``fill_zeros`` gives
        unlisted dimensions 0 (FULCRA lists only the values a response touches).
        """
        labels: dict[str, int] = {}
        for field, name, raw_label in pairs:
            key = self.by_normal_name.get(normalise_dimension(str(name)))
            if key is None:
                raise _LineInvalid(field, f"{str(name).strip()!r} is not a dimension of the scheme")
            try:
                label = parse_label(raw_label)
            except ValueError as error:
                raise _LineInvalid(field, str(error))
            if key in labels and labels[key] != label:
                raise _LineInvalid(
                    field, f"{key} is given two different labels ({labels[key]:+d} and {label:+d})"
                )
            labels[key] = label
        if fill_zeros:
            return {key: labels.get(key, 0) for key in self.keys}
        return {key: labels[key] for key in self.keys if key in labels}


def record_to_item(record: object, *, line: int, labels: LabelReader) -> ParsedItem:
    """Return the item a decoded record describes, in either shape; raise ``_LineInvalid``."""
    if not isinstance(record, dict):
        raise _LineInvalid("line", "expected an object")
    if "dialogue" in record and "prompt" not in record:
        item = _fulcra_item(record, line=line, labels=labels)
    else:
        item = _plain_item(record, line=line, labels=labels)
    # PostgreSQL cannot store NUL in text or JSON; refusing the line here names it, where the
    # database would fail the whole import with no line number.
    for name in ("prompt", "response", "source", "external_id"):
        if "\x00" in getattr(item, name):
            raise _LineInvalid(name, "contains a NUL character")
    if "\\u0000" in json.dumps(item.meta):
        raise _LineInvalid("meta", "contains a NUL character")
    return item


def record_or_error(record: object, *, line: int, labels: LabelReader) -> ParsedItem | LineError:
    """Return the item a decoded record describes, or the ``LineError`` naming what is wrong
    (the same reading as an import, for code outside this module: training reads with it)."""
    try:
        return record_to_item(record, line=line, labels=labels)
    except _LineInvalid as error:
        return LineError(line, error.field, error.message)


def text_lines(stream: BinaryIO, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """Yield (line number, decoded line) of a binary stream as an import reads it; raise
    ``ImportFileError`` for a line that is not UTF-8 or over the size limit."""
    return _text_lines(stream, max_line_bytes)


def _plain_item(record: dict, *, line: int, labels: LabelReader) -> ParsedItem:
    for name in ("prompt", "response"):
        if name not in record or record[name] is None:
            raise _LineInvalid(name, "missing")
        if not isinstance(record[name], str) or not record[name].strip():
            raise _LineInvalid(name, "must be non-empty text")
    prompt, response = record["prompt"], record["response"]
    source = _optional_text(record, "source", MAX_SOURCE_LENGTH)
    meta = record.get("meta") or {}
    if not isinstance(meta, dict):
        raise _LineInvalid("meta", "must be an object")
    reference = None
    raw_labels = record.get("labels")
    if raw_labels is not None:
        if not isinstance(raw_labels, dict):
            raise _LineInvalid("labels", "must be an object of dimension: -1, 0 or +1")
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
        raise _LineInvalid("value_types", 'must be a list like ["security: +1"]')
    pairs = []
    for index, entry in enumerate(value_types):
        field = f"value_types[{index}]"
        if not isinstance(entry, str) or ":" not in entry:
            raise _LineInvalid(field, f'{json.dumps(entry)} is not "dimension: label"')
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
        raise _LineInvalid(name, "must be text")
    if len(value) > max_length:
        raise _LineInvalid(name, f"longer than {max_length} characters")
    return value


def _external_id(record: dict, prompt: str, response: str) -> str:
    value = record.get("id")
    if value is None or value == "":
        return item_hash(prompt, response)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _LineInvalid("id", "must be text or a whole number")
    value = str(value)
    if len(value) > MAX_ID_LENGTH:
        raise _LineInvalid("id", f"longer than {MAX_ID_LENGTH} characters")
    return value


# --- Reading the file ---------------------------------------------------------------------------


def _text_lines(stream: BinaryIO, max_line_bytes: int) -> Iterator[tuple[int, str]]:
    """Yield (line number, decoded line with its newline), reading at most one line at a time."""
    number = 0
    while True:
        # Reading with a limit keeps a 50 MB line from ever being held whole.
        raw = stream.readline(max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            raise ImportFileError(
                f"line {number}: longer than the limit of {max_line_bytes:,} bytes; "
                "nothing was stored"
            )
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ImportFileError(
                f"line {number}: not UTF-8 text (byte 0x{raw[error.start]:02x} at column "
                f"{error.start + 1}); save the file as UTF-8. Nothing was stored"
            )
        yield number, text


def detect_format(filename: str, first_line: str) -> str:
    """Return ``"jsonl"`` or ``"csv"`` from the file name, else from the first line."""
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if first_line.lstrip().startswith("{") else "csv"


def parse_items(
    stream: BinaryIO,
    *,
    dimension_keys: Sequence[str],
    filename: str = "",
    file_format: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[ParsedItem | LineError]:
    """Yield an item or an error for each record of a JSONL or CSV file, in file order.

    Raise ``ImportFileError`` when the file as a whole cannot be read (possibly after some
    records were yielded: the caller must then discard what it stored).
    """
    labels = LabelReader(dimension_keys)
    lines = _text_lines(stream, max_line_bytes)
    first = next(((n, t) for n, t in lines if t.strip()), None)
    if first is None:
        raise ImportFileError("the file is empty; nothing was stored")
    chosen = file_format or detect_format(filename, first[1])

    def all_lines() -> Iterator[tuple[int, str]]:
        yield first
        yield from lines

    if chosen == "jsonl":
        yield from _parse_jsonl(all_lines(), labels)
    elif chosen == "csv":
        yield from _parse_csv(all_lines(), labels, max_line_bytes)
    else:
        raise ImportFileError(f"unknown format {chosen!r} (use jsonl or csv)")


def _parse_jsonl(lines: Iterator[tuple[int, str]], labels: LabelReader):
    for number, text in lines:
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            yield LineError(number, "json", f"not valid JSON ({error.msg} at column {error.colno})")
            continue
        except RecursionError:
            yield LineError(number, "json", TOO_DEEP)
            continue
        try:
            yield record_to_item(record, line=number, labels=labels)
        except _LineInvalid as error:
            yield LineError(number, error.field, error.message)


# json.loads recurses once per nesting level: a line of 100k "[" exhausts the stack.
TOO_DEEP = "not valid JSON here (nested too deeply)"

CSV_JSON_COLUMNS = ("meta", "labels", "value_types", "value_items")


def _parse_csv(lines: Iterator[tuple[int, str]], labels: LabelReader, max_field: int):
    # The csv module's own limit is global; raise it so a long response in one cell is fine,
    # while a quoted field running on for megabytes still stops.
    csv.field_size_limit(max(csv.field_size_limit(), max_field))
    line_numbers: list[int] = []

    def texts() -> Iterator[str]:
        for number, text in lines:
            line_numbers.append(number)
            if len(line_numbers) > 2:
                del line_numbers[0]
            yield text

    reader = csv.reader(texts())
    try:
        header = next(reader)
    except csv.Error as error:
        raise ImportFileError(f"line 1: the CSV header cannot be read ({error})")
    columns = [name.strip().lower() for name in header]
    has_plain = {"prompt", "response"} <= set(columns)
    if not has_plain and "dialogue" not in columns:
        missing = ", ".join(name for name in ("prompt", "response") if name not in columns)
        raise ImportFileError(
            f"line 1: the CSV header has no {missing} column (it has: {', '.join(columns)}); "
            "nothing was stored"
        )
    record_start = line_numbers[-1] + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield LineError(record_start, "csv", str(error))
            return  # the reader cannot resynchronise after a broken quote
        number, record_start = record_start, line_numbers[-1] + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            yield LineError(number, "csv", f"{len(row)} cells for {len(columns)} columns")
            continue
        record: dict = {
            name: cell for name, cell in zip(columns, row, strict=True) if cell.strip() != ""
        }
        try:
            for name in CSV_JSON_COLUMNS:
                if name in record:
                    try:
                        record[name] = json.loads(record[name])
                    except json.JSONDecodeError:
                        raise _LineInvalid(name, "must be JSON in this CSV column")
                    except RecursionError:
                        raise _LineInvalid(name, TOO_DEEP) from None
            yield record_to_item(record, line=number, labels=labels)
        except _LineInvalid as error:
            yield LineError(number, error.field, error.message)
