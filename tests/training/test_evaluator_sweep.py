"""bench/bench_evaluator_sweep.py: variants compared by cross-validation split by prompt, the
best scored once on prompts none of the choices saw, every figure beside the majority."""

import importlib.util
import json
from pathlib import Path

import pytest

from tests.training.conftest import synthetic_rows
from training import labelled_data
from training.schemes import SCHWARTZ10

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_evaluator_sweep.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_evaluator_sweep", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def examples(tmp_path):
    path = tmp_path / "rows.jsonl"
    rows = synthetic_rows(60)
    for row in rows[:20]:  # three rows share each of these prompts
        row["prompt"] = f"Shared question {int(row['id'].split('-')[1]) % 7}"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return labelled_data.read_examples(path, dimensions=SCHWARTZ10)


def _prompts(rows):
    return {" ".join(ex.prompt.lower().split()) for ex in rows}


def test_no_prompt_is_in_two_folds_or_in_a_fold_and_the_set_aside_rows(bench, examples):
    choosing, final = bench.set_aside(examples, share=0.2, seed=13)
    parts = bench.folds(choosing, k=3, seed=13)

    assert len(choosing) + len(final) == len(examples) and 0.2 <= len(final) / 60 < 0.3
    assert not _prompts(final) & _prompts(choosing)
    assert sum(len(part) for part in parts) == len(choosing) and all(parts)
    for i, part in enumerate(parts):
        for other in parts[i + 1 :]:
            assert not _prompts(part) & _prompts(other)


@pytest.mark.slow
def test_every_variant_is_reported_beside_the_majority_and_the_best_scored_once_aside(
    bench, examples, tiny_encoder
):
    seen_training = []
    train_and_score = bench.train_and_score

    def spy(design, settings, splits, **kwargs):
        seen_training.append((_prompts(splits.train) | _prompts(splits.validation), splits.test))
        return train_and_score(design, settings, splits, **kwargs)

    bench.train_and_score = spy
    try:
        outcome = bench.sweep(
            examples,
            variants={k: bench.VARIANTS[k] for k in ("one-pass", "one-pass, no class weights")},
            base_models=[str(tiny_encoder)],
            k=2,
            final_share=0.2,
            min_support=1,
            common={"max_length": 32, "max_steps": 1},
            log=lambda *_: None,
        )
    finally:
        bench.train_and_score = train_and_score

    rows = outcome["cross_validation"]
    assert [row["variant"] for row in rows] == ["one-pass", "one-pass, no class weights"]
    for row in rows:
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["baseline_accuracy"] <= 1
        assert 0 <= row["macro_f1"] <= 1 and 0 <= row["baseline_macro_f1"] <= 1
    assert len(seen_training) == 2 * 2 + 1  # two folds per variant, then the best once
    _choosing, final = bench.set_aside(examples, share=0.2, seed=13)
    for trained_on, scored in seen_training:
        assert not trained_on & _prompts(scored)
        assert not trained_on & _prompts(final)  # no choice ever trained on the set-aside rows
    assert seen_training[-1][1] == final
    held = outcome["set_aside"]
    assert set(held["values"]) <= {"security", "benevolence"} and held["n_rows"] == len(final)
    text = bench.table(outcome)
    assert "(majority" in text and "one-pass, no class weights" in text
    assert ("target met" in text) == held["meets_target"]


def test_the_default_evaluator_is_the_variant_the_sweep_chose(bench):
    from training import evaluator

    design, settings = bench.VARIANTS[bench.CHOSEN]
    config = evaluator.TrainConfig(base_model="minilm", dimensions=list(SCHWARTZ10))

    assert design == "one-pass"  # the frozen-encoder variants are one-pass models
    assert {key: getattr(config, key) for key in settings} == settings
    # The fine-tuned variants are the settings design "one-pass" trains with.
    assert bench.FINE_TUNE == evaluator.FINE_TUNE
