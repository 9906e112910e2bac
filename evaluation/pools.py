"""Read prompt files for item pools (no database): JSONL or CSV, errors by line.

JSONL: one object a line, ``{"prompt": str, "id"?: str, "value"?: str, "source"?: str}`` (plain
``{"prompt": …}`` is what ``align_policy`` reads too). CSV: a header with a ``prompt`` column,
optional ``id``, ``value`` and ``source`` columns. A line that cannot be read is reported as
``line N: field: what is wrong``.
"""

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field

MAX_PROMPT_CHARS = 20_000
MAX_ID_CHARS = 200


class PoolFileError(ValueError):
    """The file as a whole cannot be read (not UTF-8, empty, no prompt column)."""


@dataclass(frozen=True)
class PoolLine:
    key: str
    prompt: str
    value: str = ""
    meta: dict = field(default_factory=dict)


@dataclass
class ParsedPool:
    lines: list[PoolLine]
    errors: list[str]  # "line N: field: what is wrong"
    content_hash: str


def prompt_key(prompt: str) -> str:
    return "h-" + hashlib.sha256(prompt.encode()).hexdigest()[:24]


def _record_line(record: object, number: int, dimensions: list[str] | None) -> PoolLine:
    if not isinstance(record, dict):
        raise _Bad(number, "line", "expected a JSON object")
    prompt = record.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _Bad(number, "prompt", "missing or empty")
    if "\x00" in prompt:
        raise _Bad(number, "prompt", "contains a NUL character")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise _Bad(number, "prompt", f"longer than {MAX_PROMPT_CHARS} characters")
    raw_id = record.get("id")
    if raw_id is not None and not isinstance(raw_id, str | int):
        raise _Bad(number, "id", "must be text or a number")
    key = str(raw_id).strip() if raw_id not in (None, "") else prompt_key(prompt)
    if len(key) > MAX_ID_CHARS:
        raise _Bad(number, "id", f"longer than {MAX_ID_CHARS} characters")
    value = record.get("value") or ""
    if not isinstance(value, str):
        raise _Bad(number, "value", "must be the key of a value")
    value = value.strip().lower().replace("-", "_").replace(" ", "_")
    if value and dimensions is not None and value not in dimensions:
        raise _Bad(number, "value", f"{value!r} is not a value of the scheme")
    source = record.get("source")
    meta = {"source": str(source)} if source not in (None, "") else {}
    return PoolLine(key=key, prompt=prompt, value=value, meta=meta)


class _Bad(Exception):
    def __init__(self, line: int, where: str, what: str):
        super().__init__(f"line {line}: {where}: {what}")


def parse_pool(
    data: bytes | str, *, filename: str = "", dimensions: list[str] | None = None
) -> ParsedPool:
    """Return the prompts of a JSONL or CSV file and every bad line's error.

    A prompt (or id) given twice keeps its first line; the repeat is reported as an error.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise PoolFileError(f"not UTF-8 text (byte {error.start})") from None
    else:
        text = data
    if not text.strip():
        raise PoolFileError("the file is empty")
    is_csv = filename.lower().endswith(".csv") or not text.lstrip().startswith("{")
    rows = _csv_rows(text) if is_csv else _jsonl_rows(text)
    lines: list[PoolLine] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, record in rows:
        try:
            if isinstance(record, _Bad):
                raise record
            line = _record_line(record, number, dimensions)
            if line.key in seen:
                raise _Bad(number, "id", f"repeats line {seen[line.key]}")
        except _Bad as bad:
            errors.append(str(bad))
            continue
        seen[line.key] = number
        lines.append(line)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return ParsedPool(lines=lines, errors=errors, content_hash=digest)


def _jsonl_rows(text: str):
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield number, json.loads(raw)
        except json.JSONDecodeError as error:
            yield number, _Bad(number, "line", f"not valid JSON ({error.msg})")


def _csv_rows(text: str):
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames or "prompt" not in [
        name.strip().lower() for name in reader.fieldnames
    ]:
        raise PoolFileError("line 1: header: needs a 'prompt' column")
    for row in reader:
        record = {(k or "").strip().lower(): v for k, v in row.items()}
        # The header is line 1; a quoted field may span lines, so take the reader's count.
        yield reader.line_num, {k: v for k, v in record.items() if v not in (None, "")}
