"""Training sets: read the export and FULCRA shapes, split by prompt, fingerprint the data."""

import json

import pytest

from training.datasets import (
    DatasetError,
    check_trainable,
    content_hash,
    example_from_record,
    read_examples,
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
        ({"security": "=1"}, "line 7: labels.security: '=1' is not -1, 0 or 1"),
        ({"humility": 1}, "line 7: labels.humility: not a dimension of the scheme"),
        ({"security": 2}, "line 7: labels.security: 2 is not -1, 0 or 1"),
        ({}, "line 7: labels: no dimension is labelled"),
    ],
)
def test_a_bad_label_is_refused_naming_the_line_and_field(labels, message):
    record = {"prompt": "p", "response": "r", "labels": labels}

    with pytest.raises(DatasetError) as error:
        example_from_record(record, line=7, dimensions=SCHWARTZ10)

    assert str(error.value) == message


def test_a_dimension_given_two_labels_on_one_line_is_refused():
    record = {"dialogue": "Human: q\nBob: a", "value_types": ["security: +1", "security: -1"]}

    with pytest.raises(DatasetError, match="line 3: labels.security: given two different"):
        example_from_record(record, line=3, dimensions=SCHWARTZ10)


def test_a_corrupt_line_in_a_file_is_named(tmp_path):
    path = tmp_path / "data.jsonl"
    good = json.dumps({"prompt": "p", "response": "r", "labels": {"power": 1}})
    path.write_text(f"{good}\n{{not json\n")

    with pytest.raises(DatasetError, match="^line 2: not valid JSON"):
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
