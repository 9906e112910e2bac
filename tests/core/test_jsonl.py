"""JSON lines: one record a line, files written whole or not at all, responses streamed."""

import json
import os

import pytest
from django.http import StreamingHttpResponse

from core.jsonl import jsonl_chunks, jsonl_line, jsonl_response, jsonl_write

RECORDS = [
    {"prompt": "Wie geht's? — ça va", "labels": {"benevolence": 1}},
    {"prompt": "平和", "vector": [0, 1, 0.5]},
    {"prompt": "plain"},
]


def records_then_failure(records):
    yield from records
    raise RuntimeError("the database went away")


def folder_names(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_a_line_is_compact_json_with_non_ascii_kept_and_a_newline():
    assert jsonl_line({"title": "Ehrlichkeit — sanft", "n": [1, 2]}) == (
        '{"title": "Ehrlichkeit — sanft", "n": [1, 2]}\n'
    )


def test_writing_returns_the_count_and_each_record_reads_back(tmp_path):
    path = tmp_path / "out.jsonl"
    assert jsonl_write(path, iter(RECORDS)) == 3
    text = path.read_bytes().decode("utf-8")
    assert "Wie geht's? — ça va" in text and "平和" in text  # UTF-8, not \u escapes
    assert [json.loads(line) for line in text.splitlines()] == RECORDS
    assert text.endswith("}\n")
    assert folder_names(tmp_path) == ["out.jsonl"]


def test_writing_no_records_leaves_an_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    assert jsonl_write(path, []) == 0
    assert path.read_bytes() == b""


def test_a_generator_failing_half_way_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"old": true}\n', encoding="utf-8")
    with pytest.raises(RuntimeError, match="the database went away"):
        jsonl_write(path, records_then_failure(RECORDS))
    assert path.read_text(encoding="utf-8") == '{"old": true}\n'
    assert folder_names(tmp_path) == ["out.jsonl"]  # no temporary file left behind


def test_a_generator_failing_half_way_leaves_no_file_at_all(tmp_path):
    path = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        jsonl_write(path, records_then_failure(RECORDS))
    assert folder_names(tmp_path) == []


def test_a_record_json_cannot_encode_fails_without_a_half_file(tmp_path):
    path = tmp_path / "out.jsonl"
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsonl_write(path, [RECORDS[0], {"when": object()}])
    assert folder_names(tmp_path) == []


def test_the_written_file_has_the_mode_the_umask_gives_like_open(tmp_path):
    previous = os.umask(0o022)
    try:
        jsonl_write(tmp_path / "out.jsonl", RECORDS)
    finally:
        os.umask(previous)
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o644


def test_chunks_end_on_whole_lines_and_join_to_the_lines():
    records = [{"n": n, "text": "é" * 50} for n in range(100)]
    chunks = list(jsonl_chunks(records, chunk_chars=1000))
    assert len(chunks) > 1
    assert all(chunk.endswith("\n") for chunk in chunks)
    assert "".join(chunks) == "".join(jsonl_line(record) for record in records)
    assert list(jsonl_chunks([])) == []


def test_the_response_streams_an_ndjson_attachment_in_utf8():
    response = jsonl_response(iter(RECORDS), "mge-preferences.jsonl")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="mge-preferences.jsonl"'
    body = b"".join(response.streaming_content)
    assert body == "".join(jsonl_line(record) for record in RECORDS).encode("utf-8")


def test_reading_the_content_of_the_response_keeps_the_body_to_send():
    response = jsonl_response(iter(RECORDS), "out.jsonl")
    expected = "".join(jsonl_line(record) for record in RECORDS).encode("utf-8")
    assert response.content == expected
    assert response.content == expected  # a second read sees the same body
    assert response.streaming
    assert b"".join(response) == expected  # and what the server sends is still all of it
