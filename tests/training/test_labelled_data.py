"""Training sets: read the export and FULCRA shapes, split by prompt, fingerprint the data."""

import json

import pytest

from training.labelled_data import (
    DatasetError,
    check_trainable,
    content_hash,
    example_from_record,
    read_examples,
    read_labelled,
    split_by_prompt,
)
from training.metrics import dimension_metrics, macro_f1
from training.schemes import SCHWARTZ10


def test_a_fulcra_row_becomes_prompt_response_and_labels_with_unlisted_values_zero():
    record = {
        "dialogue": "Human: Is vandalism OK?\nBob: No. It harms people.",
        "value_types": ["security: +1", "Benevolence: 1"],
    }

    example = example_from_record(record, line=1, dimensions=SCHWARTZ10)

    assert (example.prompt, example.response) == ("Is vandalism OK?", "No. It harms people.")
    assert example.labels["security"] == 1 and example.labels["benevolence"] == 1
    assert example.labels["power"] == 0


@pytest.mark.parametrize(
    "labels, message",
    [
        ({"security": "=1"}, 'line 7: labels.security: "=1" is not a label (use -1, 0 or +1)'),
        ({"humility": 1}, "line 7: labels.humility: 'humility' is not a dimension of the scheme"),
        ({"security": 2}, "line 7: labels.security: 2 is not a label (use -1, 0 or +1)"),
    ],
)
def test_a_bad_label_is_refused_naming_the_line_and_field_as_an_import_does(labels, message):
    record = {"prompt": "p", "response": "r", "labels": labels}

    with pytest.raises(DatasetError) as error:
        example_from_record(record, line=7, dimensions=SCHWARTZ10)

    assert str(error.value) == message


def test_a_dimension_given_two_labels_on_one_line_is_refused():
    record = {"dialogue": "Human: q\nBob: a", "value_types": ["security: +1", "security: -1"]}

    with pytest.raises(DatasetError, match="line 3: value_types.1.: security is given two diff"):
        example_from_record(record, line=3, dimensions=SCHWARTZ10)


def test_a_corrupt_line_in_a_file_is_named(tmp_path):
    path = tmp_path / "data.jsonl"
    good = json.dumps({"prompt": "p", "response": "r", "labels": {"power": 1}})
    path.write_text(f"{good}\n{{not json\n")

    with pytest.raises(DatasetError, match="1 of 2 lines cannot be read.*line 2: json: not valid"):
        read_examples(path, dimensions=SCHWARTZ10)


def test_partly_labelled_items_keep_their_unknown_dimensions_unknown():
    record = {"prompt": "p", "response": "r", "labels": {"power": -1, "security": None}}

    example = example_from_record(record, line=1, dimensions=SCHWARTZ10)

    assert example.vector(SCHWARTZ10)[4] == -1
    assert example.vector(SCHWARTZ10)[5] is None


def test_no_prompt_lands_in_two_splits_and_the_split_is_repeatable(labelled_file):
    examples = read_examples(labelled_file, dimensions=SCHWARTZ10)
    # Give several examples the same prompt: they must stay together.
    examples = [
        ex
        if i % 3
        else type(ex)(id=ex.id, prompt="Shared prompt", response=ex.response, labels=ex.labels)
        for i, ex in enumerate(examples)
    ]

    first = split_by_prompt(examples, dimensions=SCHWARTZ10, seed=5)
    second = split_by_prompt(examples, dimensions=SCHWARTZ10, seed=5)

    prompts = [{ex.prompt for ex in part} for part in (first.train, first.validation, first.test)]
    assert not (prompts[0] & prompts[1]) and not (prompts[0] & prompts[2])
    assert not (prompts[1] & prompts[2])
    assert [ex.id for ex in first.test] == [ex.id for ex in second.test]
    assert sum(first.sizes.values()) == len(examples)
    assert first.sizes["train"] > first.sizes["validation"] > 0


def test_the_content_hash_names_the_data_not_its_order(labelled_file):
    examples = read_examples(labelled_file, dimensions=SCHWARTZ10)

    assert content_hash(examples, SCHWARTZ10) == content_hash(examples[::-1], SCHWARTZ10)
    assert content_hash(examples, SCHWARTZ10) != content_hash(examples[1:], SCHWARTZ10)


def test_an_empty_or_single_class_dataset_is_refused():
    one_class = [
        example_from_record(
            {"prompt": "p", "response": "r", "labels": {"power": 0}}, line=1, dimensions=SCHWARTZ10
        )
    ]

    with pytest.raises(DatasetError, match="empty"):
        check_trainable([], dimensions=SCHWARTZ10)
    with pytest.raises(DatasetError, match="every label in the dataset is 0"):
        check_trainable(one_class, dimensions=SCHWARTZ10)


def test_metrics_put_the_majority_baseline_beside_the_model():
    gold = [0, 0, 0, 0, 1, -1]
    guess = [0, 0, 0, 1, 1, -1]

    metrics = dimension_metrics(gold, guess, train_labels=[0, 0, 0, 1])

    assert metrics["accuracy"] == pytest.approx(5 / 6, abs=1e-4)
    assert metrics["baseline_accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert metrics["baseline_macro_f1"] < metrics["macro_f1"]
    assert metrics["confusion"][1] == [0, 3, 1]
    assert macro_f1([1, 1], [1, 1]) == 1.0


def test_every_bad_line_is_listed_and_skip_invalid_trains_on_the_others(tmp_path):
    path = tmp_path / "data.jsonl"
    good = {"prompt": "p", "response": "r", "labels": {"power": 1}}
    rows = [good, {"prompt": "q", "response": "r", "labels": {"power": "=1"}}, good, {"x": 1}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    with pytest.raises(DatasetError) as refused:
        read_labelled(path, dimensions=SCHWARTZ10)
    report = read_labelled(path, dimensions=SCHWARTZ10, skip_invalid=True)

    assert "2 of 4 lines cannot be read" in str(refused.value)
    assert "line 2: labels.power" in str(refused.value)
    assert "line 4: prompt: missing" in str(refused.value)
    assert len(report.examples) == 2
    assert [error.split(":")[0] for error in report.errors] == ["line 2", "line 4"]


def test_an_export_uses_human_labels_else_reference_and_skips_unlabelled_items(tmp_path):
    zeros = dict.fromkeys(SCHWARTZ10, 0)
    labelled = {
        "id": "a",
        "prompt": "p1",
        "response": "r",
        "labels": zeros | {"power": 1},
        "n_annotations": 2,
        "reference": {"power": -1},
        "annotations": [],
    }
    gold_only = {
        "id": "b",
        "prompt": "p2",
        "response": "r",
        "labels": None,
        "n_annotations": 0,
        "reference": zeros | {"security": 1},
        "annotations": [],
    }
    old_zeros = {
        "id": "c",
        "prompt": "p3",
        "response": "r",
        "labels": zeros,
        "n_annotations": 0,
        "reference": None,
        "annotations": [],
    }
    absent = {"id": "d", "prompt": "p4", "response": "r", "n_annotations": 0, "reference": None}
    path = tmp_path / "export.jsonl"
    path.write_text(
        "".join(json.dumps(row) + "\n" for row in (labelled, gold_only, old_zeros, absent))
    )

    report = read_labelled(path, dimensions=SCHWARTZ10)

    by_id = {example.id: example for example in report.examples}
    assert set(by_id) == {"a", "b"}
    assert (by_id["a"].labels["power"], by_id["a"].source) == (1, "human")
    assert (by_id["b"].labels["security"], by_id["b"].source) == (1, "reference")
    assert report.unlabelled == 2
    assert report.sources() == {"human": 1, "reference": 1}


def test_a_fulcra_row_without_value_types_is_unlabelled_not_all_zero(tmp_path):
    path = tmp_path / "fulcra.jsonl"
    rows = [
        {"dialogue": "Human: q\nBob: a", "value_types": ["power: -1"]},
        {"dialogue": "Human: q2\nBob: a2", "value_types": []},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    report = read_labelled(path, dimensions=SCHWARTZ10)

    assert len(report.examples) == 1 and report.unlabelled == 1
    assert report.examples[0].source == "file"


def test_the_published_fulcra_file_reads_as_import_reads_it():
    from pathlib import Path

    fulcra = Path(__file__).resolve().parents[3] / "shared/data/fulcra/fulcra_trustworthy.jsonl"
    if not fulcra.is_file():
        pytest.skip("the FULCRA data (../shared/data/fulcra) is not here")
    from annotation.importing import LineError, parse_items

    with pytest.raises(DatasetError, match=r"^36 of 1351 lines cannot be read"):
        read_labelled(fulcra, dimensions=SCHWARTZ10)
    report = read_labelled(fulcra, dimensions=SCHWARTZ10, skip_invalid=True)
    with fulcra.open("rb") as stream:
        import_errors = [
            str(row)
            for row in parse_items(stream, dimension_keys=SCHWARTZ10)
            if isinstance(row, LineError)
        ]

    assert report.errors == import_errors
    assert len(report.examples) == 1351 - 36 - 1 and report.unlabelled == 1


def test_the_headline_averages_only_values_the_test_split_supports_with_intervals():
    from training.metrics import summarise

    gold_power = [1, 0, -1, 0, 1, 0, 0, -1, 1, 0]
    guess_power = [1, 0, 0, 0, 1, 0, 1, -1, 0, 0]
    never_touched = [0] * 10  # stimulation: every test label 0, any "0" model scores 1.0
    per_dimension = {
        "power": dimension_metrics(gold_power, guess_power, [0, 0, 1, -1, 0]),
        "stimulation": dimension_metrics(never_touched, never_touched, [0, 0, 0]),
    }

    overall = summarise(per_dimension)["overall"]

    assert overall["supported"] == ["power"] and overall["unsupported"] == ["stimulation"]
    assert overall["macro_f1"] == per_dimension["power"]["macro_f1"] < 1.0
    assert overall["all_dimensions"]["macro_f1"] > overall["macro_f1"]  # what used to flatter
    low, high = overall["macro_f1_ci"]
    assert low <= overall["macro_f1"] <= high and high - low > 0
    assert overall["baseline_accuracy_ci"][0] <= overall["baseline_accuracy"]
    assert "_cells" not in per_dimension["power"]
