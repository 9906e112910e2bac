"""BaseAlign: align a policy LLM to a target value vector with GRPO (TRL).

Reward R(p, r) = −dist(E(p, r), target), where E is the evaluator's *expected* label per
dimension (P(+1) − P(−1)), not its argmax: argmax labels often tie across a group of
completions, and GRPO learns nothing from a group whose rewards are all equal.

Pure ML code (no database); torch, transformers and TRL are imported inside functions.
"""

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.evaluator import Evaluator
from training.targets import TargetError, validate_vector

DISTANCES = ("l2", "l1", "weighted")
POLICY_CARD = "policy.json"


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
) -> float:
    """Return the distance between two value vectors (L2, L1, or weighted L2)."""
    if kind == "l1":
        return sum(abs(v - t) for v, t in zip(vector, target, strict=True))
    if kind == "weighted":
        weights = weights or [1.0] * len(vector)
        return math.sqrt(
            sum(w * (v - t) ** 2 for v, t, w in zip(vector, target, weights, strict=True))
        )
    if kind == "l2":
        return math.sqrt(sum((v - t) ** 2 for v, t in zip(vector, target, strict=True)))
    raise AlignmentError(f"unknown distance {kind!r}; use one of {', '.join(DISTANCES)}")


def _completion_text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    # Conversational completions: a list of messages.
    return "".join(message.get("content", "") for message in completion)


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    return "\n".join(message.get("content", "") for message in prompt)


class BaseAlignReward:
    """The reward function TRL calls: −distance(evaluator's expected vector, target)."""

    def __init__(
        self,
        evaluator: Evaluator,
        target: dict[str, float],
        *,
        kind: str = "l2",
        weights: dict[str, float] | None = None,
    ):
        self.evaluator = evaluator
        self.dimensions = evaluator.dimensions
        self.target = [target[key] for key in self.dimensions]
        self.kind = kind
        self.weights = [weights.get(key, 1.0) for key in self.dimensions] if weights else None
        self.__name__ = f"basealign_{kind}"  # TRL logs rewards under the function's name

    def vectors(self, prompts: Sequence[Any], completions: Sequence[Any]) -> list[list[float]]:
        pairs = [
            (_prompt_text(p), _completion_text(c))
            for p, c in zip(prompts, completions, strict=True)
        ]
        scores = self.evaluator.score(pairs)
        return [[row["expected"][key] for key in self.dimensions] for row in scores]

    def __call__(self, prompts, completions, **kwargs) -> list[float]:
        return [
            -distance(vector, self.target, kind=self.kind, weights=self.weights)
            for vector in self.vectors(prompts, completions)
        ]


@dataclass
class AlignConfig:
    policy: str
    steps: int = 50
    num_generations: int = 4
    max_completion_length: int = 64
    learning_rate: float = 1e-5
    temperature: float = 1.0
    distance: str = "l2"
    lora: bool = True
    seed: int = 13
    report_prompts: int = 8


@dataclass
class AlignReport:
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = True  # False on the other processes of an ``accelerate launch`` run


def alignment_report(
    model, tokenizer, reward: BaseAlignReward, prompts: Sequence[str], *, max_new_tokens: int
) -> dict[str, Any]:
    """Generate one greedy response per prompt; return the mean distance to the target, the
    mean value vector and the samples (FULCRA's Table 1 metric and Figure 8's data)."""
    import torch

    responses = []
    device = next(model.parameters()).device
    for prompt in prompts:
        inputs = tokenizer(prompt, return_tensors="pt").to(device)
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        responses.append(
            tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        )
    scores = reward.evaluator.score(list(zip(prompts, responses, strict=True)))
    vectors = [[row["expected"][key] for key in reward.dimensions] for row in scores]
    # FULCRA's Figure 8: how often responses uphold (+1) or violate (-1) each value.
    shares = {
        key: {
            str(label): round(sum(row["labels"][key] == label for row in scores) / len(scores), 4)
            for label in (-1, 0, 1)
        }
        for key in reward.dimensions
    }
    distances = [
        distance(v, reward.target, kind=reward.kind, weights=reward.weights) for v in vectors
    ]
    mean_vector = [sum(column) / len(column) for column in zip(*vectors, strict=True)]
    return {
        "mean_distance": round(sum(distances) / len(distances), 4),
        "mean_vector": dict(
            zip(reward.dimensions, [round(v, 4) for v in mean_vector], strict=True)
        ),
        "label_shares": shares,
        "samples": [
            {"prompt": p, "response": r, "distance": round(d, 4)}
            for p, r, d in zip(prompts, responses, distances, strict=True)
        ][:8],
    }


def align(
    *,
    evaluator: Evaluator,
    target: dict[str, float],
    prompts: Sequence[str],
    out: str | Path,
    config: AlignConfig,
    progress: Callable[[int, int, str, dict], None] | None = None,
) -> AlignReport:
    """Train the policy with GRPO against the BaseAlign reward; write it to ``out`` atomically."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    out = Path(out)
    if out.exists():
        raise AlignmentError(f"{out} exists already; choose another --out")
    if len(prompts) < 2:
        raise AlignmentError("give at least two prompts")
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.policy, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(config.policy, local_files_only=True)
    except (OSError, ValueError) as error:
        raise AlignmentError(f"cannot load policy {config.policy!r}: {error}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    reward = BaseAlignReward(evaluator, target, kind=config.distance)
    held_out = list(prompts[: config.report_prompts])
    train_prompts = list(prompts[config.report_prompts :]) or list(prompts)
    report = AlignReport()
    started = time.monotonic()
    if progress:
        progress(0, config.steps, "generating the 'before' responses", {})
    report.before = alignment_report(
        model, tokenizer, reward, held_out, max_new_tokens=config.max_completion_length
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
                for key in ("loss", "reward_std", "kl", "completions/mean_length"):
                    if isinstance(logs.get(key), int | float):
                        metrics[key.replace("completions/", "")] = float(logs[key])
                progress(state.global_step, state.max_steps, "GRPO step", metrics)

    peft_config = None
    if config.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM", target_modules="all-linear"
        )
    use_cuda = torch.cuda.is_available()
    scratch = Path(
        tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent if out.parent.exists() else None)
    )
    try:
        args = GRPOConfig(
            output_dir=str(scratch / "trainer"),
            max_steps=config.steps,
            per_device_train_batch_size=config.num_generations,
            num_generations=config.num_generations,
            max_completion_length=config.max_completion_length,
            learning_rate=config.learning_rate,
            temperature=config.temperature,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            seed=config.seed,
            use_cpu=not use_cuda,
            bf16=use_cuda and torch.cuda.is_bf16_supported(),
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[reward],
            args=args,
            train_dataset=Dataset.from_dict({"prompt": train_prompts}),
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
            policy, tokenizer, reward, held_out, max_new_tokens=config.max_completion_length
        )
        report.seconds = round(time.monotonic() - started, 2)
        final = scratch / "policy"
        policy.save_pretrained(final)
        tokenizer.save_pretrained(final)
        card = {
            "kind": "policy",
            "method": "BaseAlign (GRPO)",
            "policy": config.policy,
            "evaluator": evaluator.card.get("base_model"),
            "evaluator_dimensions": evaluator.dimensions,
            "target": target,
            "config": asdict(config),
            "report": asdict(report),
        }
        (final / POLICY_CARD).write_text(json.dumps(card, indent=2))
        os.rename(final, out)  # atomic: a crash before this leaves nothing at ``out``
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report
