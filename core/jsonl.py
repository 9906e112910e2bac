"""JSON lines (JSONL): one record a line, written to a file whole or not at all, or streamed.

No database here: the records come in as any iterable.
"""

import json
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.http import StreamingHttpResponse

# Lines are sent in chunks of about this many characters: one write per line would cost the
# server a system call (and a chunk header) each.
RESPONSE_CHUNK_CHARS = 64 * 1024


def jsonl_line(record: Any) -> str:
    """Return ``record`` as one JSONL line: compact JSON, non-ASCII kept as is, and a newline."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def jsonl_write(path: str | Path, records: Iterable[Any]) -> int:
    """Write ``records`` to ``path`` as UTF-8 JSONL; return how many were written.

    The lines go to a temporary file in the same folder, flushed to disk, which then replaces
    ``path`` in one step: if anything fails (a record that cannot be serialised, the iterable
    raising half-way, a full disk), the temporary file is removed and ``path`` is left as it
    was, absent or holding its old content. The folder must exist.
    """
    path = Path(path)
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as open() would (mkstemp forces 0o600).
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    count = 0
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
            for record in records:
                file.write(jsonl_line(record))
                count += 1
            file.flush()
            os.fsync(file.fileno())
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return count


class JsonlError(ValueError):
    """A line of a JSONL file is not JSON; the message names the line."""


def jsonl_read(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, record) for each non-blank line of the UTF-8 JSONL file ``path``.

    Raise ``JsonlError`` naming the first line that is not JSON, and ``OSError`` when the file
    cannot be read; what the records must hold is the caller's to check.
    """
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as error:
                raise JsonlError(f"line {number}: not valid JSON ({error.msg})") from None
            except RecursionError:
                raise JsonlError(f"line {number}: JSON nested too deeply") from None


def _fsync_folder(folder: Path) -> None:
    # Make the rename itself durable; not every platform can open a folder (Windows cannot).
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def text_chunks(lines: Iterable[str], chunk_chars: int = RESPONSE_CHUNK_CHARS) -> Iterator[str]:
    """Yield ``lines`` joined into pieces of about ``chunk_chars`` characters, each ending with a
    whole line: a streamed response then writes to the socket per piece, not per line."""
    pending: list[str] = []
    size = 0
    for line in lines:
        pending.append(line)
        size += len(line)
        if size >= chunk_chars:
            yield "".join(pending)
            pending, size = [], 0
    if pending:
        yield "".join(pending)


def jsonl_chunks(records: Iterable[Any], chunk_chars: int = RESPONSE_CHUNK_CHARS) -> Iterator[str]:
    """Yield the JSONL text of ``records`` in pieces of about ``chunk_chars`` characters, each
    ending with a whole line; joined, they are exactly the lines one after the other."""
    return text_chunks(map(jsonl_line, records), chunk_chars)


class JsonlResponse(StreamingHttpResponse):
    """A streamed response whose ``content`` can still be read whole, as from an HttpResponse.

    Reading ``content`` joins what is left of the stream and keeps those bytes to be sent, so a
    caller (a test, a middleware) that wants the body gets it, and the client still receives it.
    """

    @property
    def content(self) -> bytes:
        body = b"".join(self.streaming_content)
        self.streaming_content = [body]
        return body


def jsonl_response(records: Iterable[Any], filename: str) -> JsonlResponse:
    """Return a streamed ``application/x-ndjson`` (UTF-8) attachment called ``filename`` whose
    body is ``records`` as JSONL, serialised while it is sent."""
    response = JsonlResponse(
        jsonl_chunks(records), content_type="application/x-ndjson; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
