"""BaseAlign's settings: the distances and guards it knows, the defaults and its error."""

from dataclasses import dataclass

DISTANCES = ("l2", "l1", "weighted", "fulcra")
GUARDS = ("engaged", "floor", "none")
POLICY_CARD = "policy.json"


class AlignmentError(ValueError):
    """The alignment cannot start as asked; the message says why."""


@dataclass
class AlignConfig:
    """BaseAlign's settings, sized for SmolLM2-135M-Instruct on a CPU (about 10 minutes a target
    on 2 cores). LoRA needs a learning rate well above a full fine-tune's (1e-5 barely moved it).
    Chosen by bench/bench_align.py's sweeps (MiniLM frozen-encoder evaluator, 50 held-out
    prompts, change in mean distance with its 95% interval). On the FULCRA target, floor guard:
    2e-4 × 2 steps +0.015 [−0.007, +0.040]; 2e-3 × 12 −0.015 [−0.076, +0.045]; 1e-3 × 30
    −0.035 [−0.083, +0.014]; 1e-3 × 60 (64 tokens) −0.093 [−0.154, −0.029] with real answers,
    but to a country target −0.310 by collapse (one stock reply: engagement 0.59 → 0.06);
    1.5e-3 × 40 (48 tokens) −0.429 by gaming (68% repeated answers). With the engaged guard,
    1.5e-3 × 40, 48 tokens: FULCRA −0.131 [−0.202, −0.067], engagement 0.59 → 0.74; country
    −0.077 [−0.126, −0.031], engagement 0.59 → 0.59: real, varied answers (10 min each);
    8 generations of 1 prompt −0.150 [−0.222, −0.082], temperature 0.7 −0.158 [−0.263, −0.068]:
    within the defaults' interval, so TRL's temperature and 4 × 2 stay."""

    policy: str
    steps: int = 40
    num_generations: int = 4
    prompts_per_step: int = 2
    max_completion_length: int = 48
    learning_rate: float = 1.5e-3
    temperature: float = 1.0
    beta: float = 0.0  # KL to the reference policy (0: no reference model)
    distance: str = "l2"
    guard: str = "engaged"
    lora: bool = True
    seed: int = 13
    report_prompts: int = 50


DEFAULTS = AlignConfig(policy="")
