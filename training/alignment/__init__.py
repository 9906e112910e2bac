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

The package, by concern: ``config`` (settings, defaults, the error), ``prompts`` (target,
prompts, chat format, held-out split), ``reward`` (distances and the guarded reward),
``closeness`` (how much answers engage their prompts and resemble each other),
``report`` (before/after answers, the bootstrap, Table 1) and ``grpo`` (the training run).
"""

from training.alignment.closeness import answer_closeness, closeness
from training.alignment.config import (
    DEFAULTS,
    DISTANCES,
    GUARDS,
    POLICY_CARD,
    AlignConfig,
    AlignmentError,
)
from training.alignment.grpo import AlignReport, align
from training.alignment.prompts import (
    as_policy_prompt,
    has_chat_template,
    prompt_format,
    read_prompts,
    read_target,
    split_prompts,
)
from training.alignment.report import (
    alignment_report,
    generate_responses,
    paired_bootstrap,
    report_change,
    table_line,
    verdict,
)
from training.alignment.reward import (
    ENGAGEMENT_QUANTILE,
    GUARD_REASONS,
    MASK_THRESHOLD,
    BaseAlignReward,
    distance,
    is_empty,
    is_repetitive,
    neutral_distance,
)

__all__ = [
    "DEFAULTS",
    "DISTANCES",
    "GUARDS",
    "GUARD_REASONS",
    "ENGAGEMENT_QUANTILE",
    "MASK_THRESHOLD",
    "POLICY_CARD",
    "AlignConfig",
    "AlignReport",
    "AlignmentError",
    "BaseAlignReward",
    "align",
    "alignment_report",
    "answer_closeness",
    "closeness",
    "as_policy_prompt",
    "distance",
    "generate_responses",
    "has_chat_template",
    "is_empty",
    "is_repetitive",
    "neutral_distance",
    "paired_bootstrap",
    "prompt_format",
    "read_prompts",
    "read_target",
    "report_change",
    "split_prompts",
    "table_line",
    "verdict",
]
