"""The BaseAlign reward: −distance(evaluator's expected vector, target), guarded so that an
answer that says nothing cannot win (see the package's docstring). Pure computation."""

import math
import re
from collections.abc import Sequence
from typing import Any

from training.alignment.config import DISTANCES, GUARDS, AlignmentError
from training.evaluator import Evaluator

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
