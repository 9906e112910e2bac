"""Train the policy with TRL's GRPO against the BaseAlign reward and write it with its card.

torch, transformers and TRL are imported inside ``align``.
"""

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.alignment.config import POLICY_CARD, AlignConfig, AlignmentError
from training.alignment.prompts import as_policy_prompt, prompt_format, split_prompts
from training.alignment.report import alignment_report, report_change
from training.alignment.reward import BaseAlignReward
from training.evaluator import Evaluator


@dataclass
class AlignReport:
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    change: dict[str, Any] = field(default_factory=dict)
    rewards: list[float] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = True  # False on the other processes of an ``accelerate launch`` run


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

    if config.guard == "engaged":
        samples = report.before.get("samples", [])
        engagement = [s.get("engagement") for s in samples]
        if None in engagement:  # a 'before' written before answers carried their engagement
            engagement = reward.engagement(
                [s["prompt"] for s in samples], [s["response"] for s in samples]
            )
        reward.calibrate(engagement)

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
                    "ignores_prompt_share",
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
