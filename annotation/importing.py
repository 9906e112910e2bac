"""Read files of items to annotate (contracts.md, "Import of items to annotate"); no database.

``parse_items`` reads a binary stream line by line and yields a ``ParsedItem`` per good record
and a ``LineError`` per bad one, so a caller can store the good ones in batches and never hold
the file in memory. Problems with the file as a whole (not UTF-8, empty, a CSV without the
needed columns, a line over the size limit) raise ``ImportFileError``: nothing of such a file
should be stored. What each record means is ``annotation.item_records``'s.
"""

import codecs
import csv
import json
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from annotation.item_records import (
    LabelReader,
    LineError,
    LineInvalid,
    ParsedItem,
    record_or_error,
    record_to_item,
)

MAX_LINE_BYTES = 1_000_000


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; the message says why in words."""


def text_lines(stream: BinaryIO, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """Yield (line number, decoded line with its newline) of a binary stream as an import reads
    it, at most one line at a time; raise ``ImportFileError`` for a line that is not UTF-8 or
    over the size limit."""
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
    lines = text_lines(stream, max_line_bytes)
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
        yield record_or_error(record, line=number, labels=labels)


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
                        raise LineInvalid(name, "must be JSON in this CSV column")
                    except RecursionError:
                        raise LineInvalid(name, TOO_DEEP) from None
            yield record_to_item(record, line=number, labels=labels)
        except LineInvalid as error:
            yield LineError(number, error.field, error.message)
