"""BaseAlign's settings: the distances and guards it knows, the defaults and its error."""

from dataclasses import dataclass

DISTANCES = ("l2", "l1", "weighted", "fulcra")
GUARDS = ("engaged", "floor", "none")
POLICY_CARD = "policy.json"


class AlignmentError(ValueError):
    """The alignment cannot start as asked; the message says why."""


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
