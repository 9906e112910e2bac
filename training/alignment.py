"""BaseAlign: align a policy LLM to a target value vector with GRPO (TRL).

Reward R(p, r) = −dist(E(p, r), target), where E is the evaluator's *expected* label per
dimension (P(+1) − P(−1)), not its argmax: argmax labels often tie across a group of
completions, and GRPO learns nothing from a group whose rewards are all equal.

Saying nothing must not win. For a target that upholds some values and leaves the rest at 0, an
answer the evaluator finds unrelated to every value (empty, evasive, a loop of one phrase) sits at
the all-unrelated vector, and that vector is often closer to the target than a real answer that
touches one value the wrong way; the FULCRA paper's masked reward even gives it the best possible
score. The ``floor`` guard (the default) therefore scores an answer that says nothing — empty,
under a few words, repetitive, or unrelated to every value — as no better than the all-unrelated
vector plus a margin, so that GRPO prefers any real answer that beats saying nothing.

Chat policies are trained and measured in their chat format: a policy whose tokenizer has a chat
template gets conversational prompts (TRL's list of {"role", "content"} messages, rendered with
the generation prompt) in GRPO and in the report; a base model gets the raw text.

Pure ML code (no database); torch, transformers and TRL are imported inside functions.
"""

import json
import math
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.evaluator import Evaluator
from training.targets import TargetError, validate_vector

DISTANCES = ("l2", "l1", "weighted", "fulcra")
GUARDS = ("floor", "none")
POLICY_CARD = "policy.json"
# FULCRA's BaseAlign reward counts a value only where the evaluator's score passes this; the
# floor guard calls an answer "unrelated to every value" below it on every dimension.
MASK_THRESHOLD = 0.3
GUARD_REASONS = {
    "floor": (
        "An answer that says nothing (empty, under {min_words} words, repetitive, or unrelated to "
        "every value: |E| < {threshold} on each) scores no better than the all-unrelated vector "
        "plus {margin}: under the plain distance such answers beat real ones for targets with "
        "zeros, so GRPO would learn to evade."
    ),
    "none": "The plain distance: an answer that says nothing may score well (reproduction only).",
}


class AlignmentError(ValueError):
    """The alignment cannot start as asked; the message says why."""


def read_target(path_or_dict: str | Path | dict, dimensions: Sequence[str]) -> dict[str, float]:
    """Return the target vector as {dimension: value in [-1, 1]}; refuse a missing dimension."""
    if isinstance(path_or_dict, dict):
        target = path_or_dict
    else:
        try:
            target = json.loads(Path(path_or_dict).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise AlignmentError(f"cannot read the target {path_or_dict}: {error}") from None
    try:
        return validate_vector(target, dimensions)
    except TargetError as error:
        raise AlignmentError(f"target: {error}") from None


def read_prompts(path: str | Path) -> list[str]:
    """Return the prompts of a JSONL file of {"prompt": str} (or plain lines of text)."""
    prompts = []
    with open(path, encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                raise AlignmentError(f"line {number}: not valid JSON") from None
            prompt = record.get("prompt") if isinstance(record, dict) else None
            if not isinstance(prompt, str) or not prompt.strip():
                raise AlignmentError(f"line {number}: prompt: missing or empty")
            prompts.append(prompt)
    if not prompts:
        raise AlignmentError("the prompts file is empty")
    return prompts


def distance(
    vector: Sequence[float],
    target: Sequence[float],
    *,
    kind: str = "l2",
    weights: Sequence[float] | None = None,
    masked: bool = True,
) -> float:
    """Return the distance between two value vectors.

    ``l2``, ``l1``, weighted L2, or ``fulcra``: the FULCRA paper's BaseAlign distance,
    Σ |t| · |tanh(e) − t| over the values where |e| > 0.3 (``masked=False`` counts every value).
    """
    if kind == "l1":
        return sum(abs(v - t) for v, t in zip(vector, target, strict=True))
    if kind == "weighted":
        weights = weights or [1.0] * len(vector)
        return math.sqrt(
            sum(w * (v - t) ** 2 for v, t, w in zip(vector, target, weights, strict=True))
        )
    if kind == "l2":
        return math.sqrt(sum((v - t) ** 2 for v, t in zip(vector, target, strict=True)))
    if kind == "fulcra":
        return sum(
            abs(t) * abs(math.tanh(v) - t)
            for v, t in zip(vector, target, strict=True)
            if not masked or abs(v) > MASK_THRESHOLD
        )
    raise AlignmentError(f"unknown distance {kind!r}; use one of {', '.join(DISTANCES)}")


def neutral_distance(
    target: Sequence[float], *, kind: str = "l2", weights: Sequence[float] | None = None
) -> float:
    """Return what saying nothing scores: the distance of the all-unrelated vector (every value
    0) to the target, with every value counted (the FULCRA mask would make it 0)."""
    return distance([0.0] * len(target), target, kind=kind, weights=weights, masked=False)


# --- What an answer is worth reading ------------------------------------------------------------

WORD = re.compile(r"\w+")


def is_empty(text: str) -> bool:
    """Return whether the answer has no word at all."""
    return WORD.search(text) is None


def is_repetitive(text: str, *, n: int = 3, min_words: int = 12, max_share: float = 0.5) -> bool:
    """Return whether the answer loops: at most ``max_share`` of its word n-grams are distinct."""
    words = WORD.findall(text.lower())
    if len(words) < min_words:
        return False
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) <= max_share


def _completion_text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    # Conversational completions: a list of messages.
    return "".join(message.get("content", "") for message in completion)


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    # Conversational prompts: the user's turns (a system prompt is not what was asked).
    return "\n".join(m.get("content", "") for m in prompt if m.get("role") != "system")


def has_chat_template(tokenizer) -> bool:
    """Return whether the tokenizer carries a chat template (an instruct or chat model)."""
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_format(tokenizer) -> str:
    """Return "chat" for a tokenizer with a chat template, "text" for a base model's."""
    return "chat" if has_chat_template(tokenizer) else "text"


def as_policy_prompt(prompt: str, fmt: str) -> str | list[dict[str, str]]:
    """Return the prompt in the policy's format: TRL's conversational messages, or raw text."""
    return [{"role": "user", "content": prompt}] if fmt == "chat" else prompt


class BaseAlignReward:
    """The reward function TRL calls: −distance(evaluator's expected vector, target), with the
    ``floor`` guard against answers that say nothing (see the module's docstring)."""

    def __init__(
        self,
        evaluator: Evaluator,
        target: dict[str, float],
        *,
        kind: str = "l2",
        weights: dict[str, float] | None = None,
        guard: str = "floor",
        margin: float = 0.25,
        min_words: int = 3,
        threshold: float = MASK_THRESHOLD,
    ):
        if kind not in DISTANCES:
            raise AlignmentError(f"unknown distance {kind!r}; use one of {', '.join(DISTANCES)}")
        if guard not in GUARDS:
            raise AlignmentError(f"unknown guard {guard!r}; use one of {', '.join(GUARDS)}")
        self.evaluator = evaluator
        self.dimensions = evaluator.dimensions
        self.target = [target[key] for key in self.dimensions]
        self.kind = kind
        self.weights = [weights.get(key, 1.0) for key in self.dimensions] if weights else None
        self.guard = guard
        self.margin = margin
        self.min_words = min_words
        self.threshold = threshold
        self.neutral = neutral_distance(self.target, kind=kind, weights=self.weights)
        self.__name__ = f"basealign_{kind}"  # TRL logs rewards under the function's name

    @property
    def floor(self) -> float:
        """The least distance an answer that says nothing may score."""
        return self.neutral + self.margin

    def describe(self) -> dict[str, Any]:
        """Return the reward's settings and the reason for its guard (for the model card)."""
        reason = GUARD_REASONS[self.guard].format(
            min_words=self.min_words, threshold=self.threshold, margin=self.margin
        )
        return {
            "distance": self.kind,
            "guard": self.guard,
            "why": reason,
            "margin": self.margin,
            "min_words": self.min_words,
            "threshold": self.threshold,
            "neutral_distance": round(self.neutral, 4),
        }

    def distance_of(self, vector: Sequence[float]) -> float:
        return distance(vector, self.target, kind=self.kind, weights=self.weights)

    def says_nothing(self, text: str, vector: Sequence[float]) -> bool:
        """Return whether the answer says nothing: empty, too short, looping, or unrelated to
        every value (only for a target that is not itself all-unrelated)."""
        if len(WORD.findall(text)) < self.min_words or is_repetitive(text):
            return True
        return self.neutral > 0 and all(abs(v) < self.threshold for v in vector)

    def vectors(self, prompts: Sequence[Any], completions: Sequence[Any]) -> list[list[float]]:
        pairs = [
            (_prompt_text(p), _completion_text(c))
            for p, c in zip(prompts, completions, strict=True)
        ]
        scores = self.evaluator.score(pairs)
        return [[row["expected"][key] for key in self.dimensions] for row in scores]

    def __call__(self, prompts, completions, log_metric=None, **kwargs) -> list[float]:
        rewards, nothing = [], 0
        for completion, vector in zip(completions, self.vectors(prompts, completions), strict=True):
            value = self.distance_of(vector)
            if self.guard == "floor" and self.says_nothing(_completion_text(completion), vector):
                value, nothing = max(value, self.floor), nothing + 1
            rewards.append(-value)
        if log_metric is not None:
            log_metric("says_nothing_share", nothing / max(len(rewards), 1))
        return rewards


# --- The report ------------------------------------------------------------------------------


def generate_responses(
    model,
    tokenizer,
    prompts: Sequence[str],
    *,
    fmt: str,
    max_new_tokens: int,
    batch_size: int = 16,
) -> list[tuple[str, bool]]:
    """Return (greedy response, truncated?) per prompt, in the policy's prompt format.

    Batched with left padding, prompts of similar length together; ``truncated`` means the
    answer used every new token without ending.
    """
    import torch

    device = next(model.parameters()).device
    if fmt == "chat":
        texts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False
            )
            for p in prompts
        ]
        special = False  # the template writes its own special tokens
    else:
        texts, special = list(prompts), True
    stops = set()
    for source in (tokenizer.eos_token_id, getattr(model.generation_config, "eos_token_id", None)):
        stops.update(source if isinstance(source, list) else [source] if source is not None else [])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[tuple[str, bool]] = [("", False)] * len(texts)
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            inputs = tokenizer(
                [texts[i] for i in chunk],
                return_tensors="pt",
                padding=True,
                add_special_tokens=special,
            ).to(device)
            with torch.inference_mode():
                output = model.generate(
                    **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad
                )
            new = output[:, inputs["input_ids"].shape[1] :]
            for row, index in zip(new.tolist(), chunk, strict=True):
                ended = any(token in stops for token in row)
                text = tokenizer.decode(row, skip_special_tokens=True)
                results[index] = (text, not ended and len(row) >= max_new_tokens)
    finally:
        tokenizer.padding_side = side
    return results


def paired_bootstrap(
    before: Sequence[float], after: Sequence[float], *, resamples: int = 2000, seed: int = 13
) -> dict[str, Any]:
    """Return the mean change after − before over paired samples and its 95% percentile
    bootstrap interval (prompts resampled with their pair): {"mean", "ci": [lo, hi], "n"}."""
    import numpy as np

    changes = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    n = len(changes)
    if n == 0:
        return {"mean": None, "ci": [None, None], "n": 0}
    rng = np.random.default_rng(seed)
    means = changes[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "mean": round(float(changes.mean()), 4),
        "ci": [round(float(low), 4), round(float(high), 4)],
        "n": n,
    }


def alignment_report(
    model,
    tokenizer,
    reward: BaseAlignReward,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    fmt: str | None = None,
) -> dict[str, Any]:
    """Generate one greedy response per prompt; return the mean distance to the target (FULCRA's
    Table 1), what saying nothing scores, the shares of empty, truncated and repeated answers,
    the mean vector and label shares (Figure 8), and every sample."""
    fmt = fmt or prompt_format(tokenizer)
    generated = generate_responses(
        model, tokenizer, prompts, fmt=fmt, max_new_tokens=max_new_tokens
    )
    responses = [text for text, _ in generated]
    scores = reward.evaluator.score(list(zip(prompts, responses, strict=True)))
    empty_scores = reward.evaluator.score([(p, "") for p in prompts])
    vectors = [[row["expected"][key] for key in reward.dimensions] for row in scores]
    n = len(scores)
    # FULCRA's Figure 8: how often responses uphold (+1) or violate (-1) each value.
    shares = {
        key: {
            str(label): round(sum(row["labels"][key] == label for row in scores) / n, 4)
            for label in (-1, 0, 1)
        }
        for key in reward.dimensions
    }
    distances = [reward.distance_of(v) for v in vectors]
    empty_distances = [
        reward.distance_of([row["expected"][key] for key in reward.dimensions])
        for row in empty_scores
    ]
    flags = [
        {"empty": is_empty(text), "truncated": truncated, "repeated": is_repetitive(text)}
        for text, truncated in generated
    ]
    mean_vector = [sum(column) / n for column in zip(*vectors, strict=True)]
    return {
        "n": n,
        "prompt_format": fmt,
        "mean_distance": round(sum(distances) / n, 4),
        "neutral_distance": round(reward.neutral, 4),
        "empty_answer_distance": round(sum(empty_distances) / n, 4),
        "empty_share": round(sum(f["empty"] for f in flags) / n, 4),
        "truncated_share": round(sum(f["truncated"] for f in flags) / n, 4),
        "repeated_share": round(sum(f["repeated"] for f in flags) / n, 4),
        "mean_vector": dict(
            zip(reward.dimensions, [round(v, 4) for v in mean_vector], strict=True)
        ),
        "label_shares": shares,
        "samples": [
            {"prompt": p, "response": r, "distance": round(d, 4)} | f
            for p, r, d, f in zip(prompts, responses, distances, flags, strict=True)
        ],
    }


def split_prompts(
    prompts: Sequence[str], *, report_prompts: int, seed: int
) -> tuple[list[str], list[str]]:
    """Return (held-out prompts for the report, training prompts), distinct and disjoint.

    The held-out set is a seeded sample of ``report_prompts`` distinct prompts, at most half of
    them, so that the report never reads answers to prompts the policy trained on.
    """
    distinct = list(dict.fromkeys(prompts))
    if len(distinct) < 2:
        raise AlignmentError("give at least two different prompts")
    shuffled = distinct[:]
    random.Random(seed).shuffle(shuffled)
    n = max(1, min(report_prompts, len(distinct) // 2))
    return shuffled[:n], shuffled[n:]


@dataclass
class AlignConfig:
    """BaseAlign's settings, sized for SmolLM2-135M-Instruct on a CPU. LoRA needs a learning
    rate well above a full fine-tune's (1e-5 barely moved it); bench/bench_align.py measures
    what the defaults reach. Chosen by its sweep on the FULCRA target (MiniLM frozen-encoder
    evaluator, 50 held-out prompts, 2 CPU cores): 2e-4 × 2 steps +0.015 [−0.007, +0.040];
    2e-3 × 12 −0.015 [−0.076, +0.045]; 1e-3 × 30 −0.035 [−0.083, +0.014]; 1e-3 × 60
    −0.199 [−0.279, −0.123], closer, no empty answers (17 min)."""

    policy: str
    steps: int = 60
    num_generations: int = 4
    prompts_per_step: int = 2
    max_completion_length: int = 64
    learning_rate: float = 1e-3
    temperature: float = 1.0
    beta: float = 0.0  # KL to the reference policy (0: no reference model)
    distance: str = "l2"
    guard: str = "floor"
    lora: bool = True
    seed: int = 13
    report_prompts: int = 50


DEFAULTS = AlignConfig(policy="")


@dataclass
class AlignReport:
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    change: dict[str, Any] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = True  # False on the other processes of an ``accelerate launch`` run


def report_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Return the paired bootstrap of the per-prompt distance change (after − before)."""
    after_by_prompt = {s["prompt"]: s["distance"] for s in after.get("samples", [])}
    pairs = [
        (s["distance"], after_by_prompt[s["prompt"]])
        for s in before.get("samples", [])
        if s["prompt"] in after_by_prompt
    ]
    return paired_bootstrap([b for b, _ in pairs], [a for _, a in pairs])


def align(
    *,
    evaluator: Evaluator,
    target: dict[str, float],
    prompts: Sequence[str],
    out: str | Path,
    config: AlignConfig,
    progress: Callable[[int, int, str, dict], None] | None = None,
    before: dict[str, Any] | None = None,
) -> AlignReport:
    """Train the policy with GRPO against the BaseAlign reward; write it to ``out`` atomically.

    ``before`` reuses the 'before' report of an earlier run with the same policy, evaluator,
    target, held-out prompts, distance and completion length (a sweep measures it once); it is
    used only when its samples are exactly this run's held-out prompts.
    """
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    out = Path(out)
    if out.exists():
        raise AlignmentError(f"{out} exists already; choose another --out")
    held_out, train_prompts = split_prompts(
        prompts, report_prompts=config.report_prompts, seed=config.seed
    )
    use_cuda = torch.cuda.is_available()
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.policy, local_files_only=True)
        # On a CPU, float32: bf16 (SmolLM2's saved dtype) has no fast kernels on most CPUs;
        # on CUDA, the saved dtype.
        model = AutoModelForCausalLM.from_pretrained(
            config.policy, local_files_only=True, dtype="auto" if use_cuda else torch.float32
        )
    except (OSError, ValueError) as error:
        raise AlignmentError(f"cannot load policy {config.policy!r}: {error}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    fmt = prompt_format(tokenizer)
    reward = BaseAlignReward(evaluator, target, kind=config.distance, guard=config.guard)
    report = AlignReport()
    started = time.monotonic()
    reusable = (
        before is not None
        and [s["prompt"] for s in before.get("samples", [])] == held_out
        and before.get("prompt_format") == fmt
        and before.get("neutral_distance") == round(reward.neutral, 4)
    )
    if reusable:
        report.before = before
    else:
        if progress:
            progress(0, config.steps, "generating the 'before' responses", {})
        report.before = alignment_report(
            model, tokenizer, reward, held_out, max_new_tokens=config.max_completion_length, fmt=fmt
        )

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            value = next(
                (v for k, v in logs.items() if k.startswith("rewards/") and k.endswith("/mean")),
                logs.get("reward"),
            )
            if value is None:
                return
            report.rewards.append(float(value))
            if progress:
                metrics = {"reward": float(value), "distance": -float(value)}
                for key in (
                    "loss",
                    "reward_std",
                    "kl",
                    "completions/mean_length",
                    "says_nothing_share",
                ):
                    if isinstance(logs.get(key), int | float):
                        metrics[key.replace("completions/", "")] = float(logs[key])
                progress(state.global_step, state.max_steps, "GRPO step", metrics)

    peft_config = None
    if config.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM", target_modules="all-linear"
        )
    scratch = Path(
        tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent if out.parent.exists() else None)
    )
    try:
        args = GRPOConfig(
            output_dir=str(scratch / "trainer"),
            max_steps=config.steps,
            per_device_train_batch_size=config.num_generations * config.prompts_per_step,
            num_generations=config.num_generations,
            max_completion_length=config.max_completion_length,
            learning_rate=config.learning_rate,
            temperature=config.temperature,
            beta=config.beta,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            seed=config.seed,
            use_cpu=not use_cuda,
            bf16=use_cuda and torch.cuda.is_bf16_supported(),
            # Recomputing activations saves memory a small policy on a CPU does not need.
            activation_checkpointing=use_cuda,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[reward],
            args=args,
            train_dataset=Dataset.from_dict(
                {"prompt": [as_policy_prompt(p, fmt) for p in train_prompts]}
            ),
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[Progress()],
        )
        trainer.train()
        if not trainer.accelerator.is_main_process:
            # accelerate launch on several GPUs: every process trained its share; the main
            # process alone writes the report and the model.
            report.written = False
            return report
        policy = trainer.model
        if config.lora:
            policy = policy.merge_and_unload()
        if progress:
            progress(config.steps, config.steps, "generating the 'after' responses", {})
        report.after = alignment_report(
            policy,
            tokenizer,
            reward,
            held_out,
            max_new_tokens=config.max_completion_length,
            fmt=fmt,
        )
        report.change = report_change(report.before, report.after)
        report.seconds = round(time.monotonic() - started, 2)
        final = scratch / "policy"
        policy.save_pretrained(final)
        tokenizer.save_pretrained(final)
        card = {
            "kind": "policy",
            "method": "BaseAlign (GRPO)",
            "policy": config.policy,
            "prompt_format": fmt,
            "reward": reward.describe(),
            "evaluator": evaluator.card.get("base_model"),
            "evaluator_dimensions": evaluator.dimensions,
            "target": target,
            "config": asdict(config),
            "held_out": len(held_out),
            "train_prompts": len(train_prompts),
            "report": asdict(report),
        }
        (final / POLICY_CARD).write_text(json.dumps(card, indent=2))
        os.rename(final, out)  # atomic: a crash before this leaves nothing at ``out``
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def verdict(change: dict[str, Any] | None) -> str:
    """Return "closer" or "further" only when the change's interval excludes 0."""
    low, high = (change or {}).get("ci") or [None, None]
    if low is None or high is None:
        return "no interval"
    if high < 0:
        return "closer"
    if low > 0:
        return "further"
    return "no clear change"


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def table_line(card: dict[str, Any]) -> str:
    """Return FULCRA's Table 1 as one line: distance before → after, the change's interval, the
    verdict, what saying nothing scores and the shares of empty/truncated/repeated answers."""
    report = card.get("report", {})
    before, after = report.get("before", {}), report.get("after", {})
    change = report.get("change") or {}
    low, high = change.get("ci") or [None, None]
    interval = "?" if low is None else f"[{low:+.3f}, {high:+.3f}]"
    shares = ", ".join(
        f"{name} {_percent(before.get(key))} → {_percent(after.get(key))}"
        for name, key in (
            ("empty", "empty_share"),
            ("truncated", "truncated_share"),
            ("repeated", "repeated_share"),
        )
    )
    return (
        f"mean distance to the target ({card.get('config', {}).get('distance', 'l2')}, "
        f"{change.get('n', '?')} held-out prompts): "
        f"{before.get('mean_distance')} → {after.get('mean_distance')}, "
        f"change {change.get('mean')} 95% CI {interval}: {verdict(change)}; "
        f"saying nothing {before.get('neutral_distance')} "
        f"(the evaluator's empty answer {before.get('empty_answer_distance')}); {shares}"
    )
