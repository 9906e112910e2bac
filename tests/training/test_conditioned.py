"""The value-conditioned evaluator: reads a value's definition, scores values it never saw."""

import json

import pytest
from django.core.management import call_command

from tests.training.conftest import synthetic_rows
from training import conditioned, evaluator, labelled_data
from training.models import ModelArtifact
from training.schemes import SCHWARTZ10, SCHWARTZ10_DEFINITIONS

TRAINED = [key for key in SCHWARTZ10 if key != "benevolence"]


@pytest.fixture(scope="module")
def conditioned_folder(tiny_encoder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("conditioned")
    data = folder / "rows.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in synthetic_rows(60)))
    examples = labelled_data.read_examples(data, dimensions=SCHWARTZ10)
    splits = labelled_data.split_by_prompt(examples, dimensions=SCHWARTZ10)
    config = conditioned.ConditionedConfig(
        base_model=str(tiny_encoder),
        dimensions=TRAINED,
        definitions=dict(SCHWARTZ10_DEFINITIONS),
        epochs=2,
        max_length=64,
        max_steps=6,
    )
    model, tokenizer, report = conditioned.train(splits, config)
    assert report.history and report.history[0]["loss"] > 0
    return conditioned.save(
        model, tokenizer, folder / "ev", config=config, report=report, dataset={"n": 60}
    )


def test_one_cell_per_example_and_labelled_value():
    rows = synthetic_rows(5)
    examples = [
        labelled_data.example_from_record(row, line=i, dimensions=SCHWARTZ10)
        for i, row in enumerate(rows, 1)
    ]

    made = conditioned.cells(examples, ["security", "power"], SCHWARTZ10_DEFINITIONS)

    assert len(made) == 10
    assert made[0].definition.startswith("Security:") and made[0].label == 1


def test_it_loads_through_the_common_interface_and_scores_the_held_out_value(
    conditioned_folder,
):
    loaded = evaluator.load(conditioned_folder)

    rows = loaded.score([("Is it safe?", "be kind and caring"), ("Hi", "cruel and mean")])

    assert loaded.card["design"] == "value-conditioned"
    assert loaded.card["trained_dimensions"] == TRAINED
    assert list(rows[0]["labels"]) == SCHWARTZ10  # benevolence too, from its definition
    assert all(-1 <= v <= 1 for row in rows for v in row["expected"].values())


def test_a_value_outside_the_scheme_is_scored_from_a_definition_given_at_scoring_time(
    conditioned_folder,
):
    loaded = evaluator.load(conditioned_folder)

    rows = loaded.score(
        [("q", "a")], definitions={"humility": "Humility: modesty, not seeking attention."}
    )

    assert list(rows[0]["labels"]) == ["humility"]


def test_train_evaluator_trains_the_conditioned_design_and_registers_it(
    db, tiny_encoder, labelled_file, tmp_path
):
    call_command(
        "train_evaluator",
        "--data",
        str(labelled_file),
        "--base-model",
        str(tiny_encoder),
        "--out",
        str(tmp_path / "cond"),
        "--design",
        "value-conditioned",
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--max-length",
        "48",
    )

    artifact = ModelArtifact.objects.get()
    assert artifact.card["design"] == "value-conditioned"
    assert set(artifact.card["metrics"]["test"]["dimensions"]) == set(SCHWARTZ10)
