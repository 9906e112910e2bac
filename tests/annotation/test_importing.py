"""The pure import parser: both shapes, CSV, messy labels, errors by line number (no database)."""

import io
import json

import pytest

from annotation.importing import ImportFileError, parse_items
from annotation.item_records import LineError, ParsedItem, item_hash, parse_label, split_dialogue
from tests.annotation.factories import SCHWARTZ10


def parse(text: str | bytes, filename: str = "items.jsonl", **options) -> list:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(
        parse_items(io.BytesIO(data), dimension_keys=SCHWARTZ10, filename=filename, **options)
    )


def jsonl(*records: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def fulcra(*value_types: str, dialogue: str = "Human: Hi?\nBob: Hello.") -> dict:
    return {
        "dialogue": dialogue,
        "value_items": ["be honest: +1"],
        "value_types": list(value_types),
        "query_source": "trustworthy",
        "response_source": "some/model",
    }


@pytest.mark.parametrize(
    "written, expected",
    [("+1", 1), ("1", 1), (1, 1), ("-1", -1), (-1, -1), ("0", 0), (0, 0), (" +1 ", 1)],
)
def test_labels_written_as_plus_one_one_minus_one_or_zero_are_read(written, expected):
    assert parse_label(written) == expected


@pytest.mark.parametrize("written", ["=1", "1+", "2", 2, "yes", None, True, 1.5, "+-1", ""])
def test_labels_that_could_mean_anything_are_refused(written):
    with pytest.raises(ValueError, match="is not a label"):
        parse_label(written)


def test_given_a_plain_line_then_it_becomes_an_item_with_its_id_source_meta_and_labels():
    record = {
        "id": "a1",
        "prompt": "P?",
        "response": "R.",
        "source": "gpt",
        "meta": {"topic": "x"},
        "labels": {"Security": "+1", "self-direction": -1},
    }

    [item] = parse(jsonl(record))

    assert item == ParsedItem(
        line=1,
        external_id="a1",
        prompt="P?",
        response="R.",
        source="gpt",
        meta={"topic": "x"},
        reference_labels={"self_direction": -1, "security": 1},
    )


def test_given_no_id_then_the_id_is_the_hash_of_prompt_and_response():
    [item] = parse(jsonl({"prompt": "P?", "response": "R."}))

    assert item.external_id == item_hash("P?", "R.")
    assert len(item.external_id) == 64
    assert item.reference_labels is None


def test_given_a_fulcra_line_then_the_dialogue_splits_and_unlisted_values_are_zero():
    [item] = parse(
        jsonl(fulcra("security: +1", "Self-Direction: 1", "benevolence: -1", "power: +1"))
    )

    assert (item.prompt, item.response) == ("Hi?", "Hello.")
    assert item.source == "some/model"
    assert item.meta == {
        "query_source": "trustworthy",
        "response_source": "some/model",
        "value_items": ["be honest: +1"],
    }
    assert list(item.reference_labels) == SCHWARTZ10
    assert item.reference_labels["security"] == 1
    assert item.reference_labels["self_direction"] == 1
    assert item.reference_labels["benevolence"] == -1
    assert item.reference_labels["tradition"] == 0


def test_a_dialogue_answer_with_blank_lines_stays_whole():
    prompt, response = split_dialogue("Human: Why?\nBob: First.\n\nSecond paragraph.")

    assert (prompt, response) == ("Why?", "First.\n\nSecond paragraph.")


def test_a_longer_dialogue_keeps_earlier_turns_in_the_prompt():
    prompt, response = split_dialogue("Human: A?\nBob: B.\nHuman: C?\nBob: D.")

    assert prompt == "A?\nBob: B.\nHuman: C?"
    assert response == "D."


def test_the_same_label_given_twice_for_a_dimension_is_fine():
    [item] = parse(jsonl(fulcra("security: +1", "security: 1")))

    assert item.reference_labels["security"] == 1


@pytest.mark.parametrize(
    "value_types, expected",
    [
        (["security: =1"], 'line 1: value_types[0]: "=1" is not a label (use -1, 0 or +1)'),
        (["power: +1", "security: 1+"], 'line 1: value_types[1]: "1+" is not a label'),
        (["humility: +1"], "line 1: value_types[0]: 'humility' is not a dimension of the scheme"),
        (
            ["benevolence: -1", "Benevolence: +1"],
            "line 1: value_types[1]: benevolence is given two different labels (-1 and +1)",
        ),
        (["security +1"], 'line 1: value_types[0]: "security +1" is not "dimension: label"'),
    ],
)
def test_given_a_messy_fulcra_label_then_that_line_is_an_error(value_types, expected):
    [error] = parse(jsonl(fulcra(*value_types)))

    assert isinstance(error, LineError)
    assert str(error).startswith(expected)


def test_a_fulcra_line_with_no_labels_means_every_value_is_unrelated():
    [item] = parse(jsonl(fulcra()))

    assert item.reference_labels == {key: 0 for key in SCHWARTZ10}


def test_given_good_and_bad_lines_then_each_bad_line_is_reported_with_its_number():
    text = (
        jsonl({"prompt": "ok", "response": "ok"})
        + "\n"  # a blank line still counts as a line
        + "{not json\n"
        + jsonl(
            {"prompt": "", "response": "r"},
            {"prompt": "p"},
            {"prompt": "p", "response": "r", "labels": {"humility": 1}},
            ["a", "list"],
            {"prompt": "p", "response": "r", "meta": "nope"},
            {"dialogue": "Bob: no human", "value_types": []},
        )
    )

    results = parse(text)

    assert [str(r) for r in results if isinstance(r, LineError)] == [
        "line 3: json: not valid JSON (Expecting property name enclosed in double quotes at "
        "column 2)",
        "line 4: prompt: must be non-empty text",
        "line 5: response: missing",
        "line 6: labels.humility: 'humility' is not a dimension of the scheme",
        "line 7: line: expected an object",
        "line 8: meta: must be an object",
        'line 9: dialogue: expected text starting "Human: "',
    ]
    assert isinstance(results[0], ParsedItem)


def test_given_a_csv_with_a_header_then_rows_become_items_and_quoted_newlines_keep_numbers():
    text = (
        "id,prompt,response,source,labels\n"
        'c1,"Two\nlines?",Answer,gpt,"{""security"": ""+1""}"\n'
        "c2,Next?,Reply,,\n"
        'c3,Bad?,Reply,,"{""security"": ""=1""}"\n'
    )

    results = parse(text, filename="items.csv")

    first, second, third = results
    assert (first.line, first.external_id, first.prompt) == (2, "c1", "Two\nlines?")
    assert first.reference_labels == {"security": 1}
    assert (second.line, second.source, second.reference_labels) == (4, "", None)
    assert str(third) == 'line 5: labels.security: "=1" is not a label (use -1, 0 or +1)'


def test_a_file_without_a_known_extension_is_read_by_its_first_character():
    results = parse("prompt,response\nP,R\n", filename="upload")

    assert [r.prompt for r in results] == ["P"]


def test_a_csv_missing_the_response_column_is_refused_as_a_whole():
    with pytest.raises(ImportFileError, match="no response column"):
        parse("prompt,answer\nP,R\n", filename="items.csv")


def test_a_csv_row_with_the_wrong_number_of_cells_is_a_line_error():
    [error] = parse("prompt,response\nP,R,extra\n", filename="items.csv")

    assert str(error) == "line 2: csv: 3 cells for 2 columns"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_an_empty_file_is_refused(content):
    with pytest.raises(ImportFileError, match="the file is empty"):
        parse(content)


def test_bytes_that_are_not_utf8_are_refused_naming_the_line():
    content = jsonl({"prompt": "p", "response": "r"}).encode() + b'{"prompt": "caf\xe9"}\n'

    with pytest.raises(ImportFileError, match=r"line 2: not UTF-8 text \(byte 0xe9"):
        parse(content)


def test_a_line_over_the_size_limit_is_refused_without_reading_it_whole():
    huge = json.dumps({"prompt": "p" * 5000, "response": "r"}) + "\n"

    with pytest.raises(ImportFileError, match="line 2: longer than the limit of 1,000 bytes"):
        parse(jsonl({"prompt": "p", "response": "r"}) + huge, max_line_bytes=1000)


def test_a_utf8_byte_order_mark_is_ignored():
    [item] = parse(b"\xef\xbb\xbf" + jsonl({"prompt": "p", "response": "r"}).encode())

    assert item.prompt == "p"


def test_a_nul_character_that_postgresql_cannot_store_is_a_line_error():
    results = parse(
        jsonl(
            {"prompt": "a\u0000b", "response": "r"},
            {"prompt": "p", "response": "r", "meta": {"k": "\u0000"}},
        )
    )

    assert [str(r) for r in results] == [
        "line 1: prompt: contains a NUL character",
        "line 2: meta: contains a NUL character",
    ]
