"""The BaseAlign reward: −distance(evaluator's expected vector, target), guarded so that an
answer that says nothing cannot win (see the package's docstring). Pure computation."""

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from training.alignment.closeness import closeness
from training.alignment.config import DISTANCES, GUARDS, AlignmentError
from training.evaluator import Evaluator

# FULCRA's BaseAlign reward counts a value only where the evaluator's score passes this; the
# floor guard calls an answer "unrelated to every value" below it on every dimension.
MASK_THRESHOLD = 0.3
# The ``engaged`` guard: an answer that engages its prompt less than this share of the reference
# policy's own answers do is taken as ignoring it.
ENGAGEMENT_QUANTILE = 0.1
_FLOOR_REASON = (
    "An answer that says nothing (empty, under {min_words} words, repetitive, or unrelated to "
    "every value: |E| < {threshold} on each) scores no better than the all-unrelated vector "
    "plus {margin}: under the plain distance such answers beat real ones for targets with "
    "zeros, so GRPO would learn to evade."
)
GUARD_REASONS = {
    "engaged": _FLOOR_REASON
    + (
        " So does an answer that ignores its prompt: its cosine to the prompt in the "
        "evaluator's encoder below {min_engagement} (the reference policy's "
        "{quantile:.0%} quantile): without this a policy learns one stock reply the evaluator "
        "likes and gives it to every prompt (SmolLM2 to a country target: 18 of 50 answers "
        "'I'm happy to engage in a friendly conversation…', engagement 0.59 → 0.06)."
    ),
    "floor": (
        "An answer that says nothing (empty, under {min_words} words, repetitive, or unrelated to "
        "every value: |E| < {threshold} on each) scores no better than the all-unrelated vector "
        "plus {margin}: under the plain distance such answers beat real ones for targets with "
        "zeros, so GRPO would learn to evade."
    ),
    "none": "The plain distance: an answer that says nothing may score well (reproduction only).",
}


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
        engagement: Callable[[Sequence[str], Sequence[str]], list[float]] | None = None,
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
        # Per (prompt, answer): how much the answer engages the prompt (``closeness``).
        self.engagement = engagement or (lambda p, r: closeness(evaluator, p, r)[0])
        self.min_engagement: float | None = None  # set by ``calibrate`` for the engaged guard
        self.__name__ = f"basealign_{kind}"  # TRL logs rewards under the function's name

    @property
    def floor(self) -> float:
        """The least distance an answer that says nothing may score."""
        return self.neutral + self.margin

    def calibrate(self, engagement: Sequence[float]) -> float:
        """Set the least engagement an answer needs from the reference policy's own answers
        (their ``ENGAGEMENT_QUANTILE`` quantile); return it."""
        if not engagement:
            raise AlignmentError("the engaged guard needs the reference policy's answers")
        ranked = sorted(engagement)
        self.min_engagement = round(ranked[int(ENGAGEMENT_QUANTILE * (len(ranked) - 1))], 4)
        return self.min_engagement

    def describe(self) -> dict[str, Any]:
        """Return the reward's settings and the reason for its guard (for the model card)."""
        reason = GUARD_REASONS[self.guard].format(
            min_words=self.min_words,
            threshold=self.threshold,
            margin=self.margin,
            min_engagement=self.min_engagement,
            quantile=ENGAGEMENT_QUANTILE,
        )
        described = {
            "distance": self.kind,
            "guard": self.guard,
            "why": reason,
            "margin": self.margin,
            "min_words": self.min_words,
            "threshold": self.threshold,
            "neutral_distance": round(self.neutral, 4),
        }
        if self.guard == "engaged":
            described["min_engagement"] = self.min_engagement
        return described

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

    def ignored(self, prompts: Sequence[Any], completions: Sequence[Any]) -> list[bool]:
        """Return, per answer, whether it ignores its prompt (the ``engaged`` guard only)."""
        if self.guard != "engaged":
            return [False] * len(completions)
        if self.min_engagement is None:
            raise AlignmentError("the engaged guard is not calibrated: call calibrate() first")
        engagement = self.engagement(
            [_prompt_text(p) for p in prompts], [_completion_text(c) for c in completions]
        )
        return [value < self.min_engagement for value in engagement]

    def __call__(self, prompts, completions, log_metric=None, **kwargs) -> list[float]:
        rewards, nothing, ignoring = [], 0, 0
        vectors = self.vectors(prompts, completions)
        ignored = self.ignored(prompts, completions)
        for completion, vector, off in zip(completions, vectors, ignored, strict=True):
            value = self.distance_of(vector)
            if self.guard != "none" and self.says_nothing(_completion_text(completion), vector):
                value, nothing = max(value, self.floor), nothing + 1
            elif off:
                value, ignoring = max(value, self.floor), ignoring + 1
            rewards.append(-value)
        if log_metric is not None:
            log_metric("says_nothing_share", nothing / max(len(rewards), 1))
            if self.guard == "engaged":
                log_metric("ignores_prompt_share", ignoring / max(len(rewards), 1))
        return rewards
