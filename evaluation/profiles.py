"""Value profiles from scored responses, and their alignment to a target (no database).

A profile gives, per value of the scheme, the mean *expected* label (P(+1) − P(−1), in [-1, 1])
over the responses with a 95% percentile bootstrap interval, and the shares of responses the
evaluator labels as upholding (+1) and violating (−1) the value.

Alignment to a target vector t (each value in [-1, 1]) comes in two forms:

- ``distance``: the mean over responses of the L2 distance between the response's expected
  vector and t, the number BaseAlign's reward and its report use (FULCRA's Table 1). Lower is
  closer.
- ``weighted``: the Value Compass form, a weighted sum over values of the profile's means with
  the target's weights, Σ t_v · mean_v / Σ |t_v|, in [-1, 1]. Higher is closer; a neutral
  target (every t_v = 0) asks for nothing, so it is 0.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from core.stats import BOOTSTRAP_SAMPLES, percentile_interval, resampled_means
from training.alignment import distance as vector_distance


class ProfileError(ValueError):
    """The profile cannot be computed as asked; the message says why."""


def profile(
    scores: Sequence[Mapping],
    dimensions: Sequence[str],
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> dict[str, dict]:
    """Return {value: {"mean", "ci": [lo, hi], "upholds", "violates", "n"}} over ``scores``.

    Each score is {"labels": {value: -1|0|1}, "expected": {value: float}} as the evaluator's
    ``score`` returns. The same ``seed`` gives the same intervals.
    """
    if not scores:
        raise ProfileError("no scored responses: nothing to profile")
    expected = np.array([[row["expected"][key] for key in dimensions] for row in scores], float)
    labels = np.array([[row["labels"][key] for key in dimensions] for row in scores], int)
    n = len(scores)
    low, high = percentile_interval(resampled_means(expected, samples=samples, seed=seed))
    means = expected.mean(axis=0)
    result = {}
    for index, key in enumerate(dimensions):
        result[key] = {
            "mean": round(float(means[index]), 4),
            "ci": [round(float(low[index]), 4), round(float(high[index]), 4)],
            "upholds": round(float((labels[:, index] == 1).mean()), 4),
            "violates": round(float((labels[:, index] == -1).mean()), 4),
            "n": n,
        }
    return result


def weighted_alignment(means: Mapping[str, float], target: Mapping[str, float]) -> float:
    """Return the Value Compass score Σ t_v·mean_v / Σ |t_v| (0 for a neutral target)."""
    total_weight = sum(abs(weight) for weight in target.values())
    if total_weight == 0:
        return 0.0
    return sum(weight * means[key] for key, weight in target.items()) / total_weight


def distances(
    scores: Sequence[Mapping], target: Mapping[str, float], dimensions: Sequence[str]
) -> list[float]:
    """Return each response's L2 distance from its expected vector to the target."""
    if not scores:
        raise ProfileError("no scored responses: nothing to compare with the target")
    goal = [target[key] for key in dimensions]
    return [
        vector_distance([row["expected"][key] for key in dimensions], goal, kind="l2")
        for row in scores
    ]


def alignment(
    scores: Sequence[Mapping],
    values: Mapping[str, Mapping],
    target: Mapping[str, float],
    dimensions: Sequence[str],
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> dict:
    """Return {"distance", "distance_ci", "weighted", "weighted_ci", "n"} of a profile
    (``values``, from ``profile``) to ``target``; the intervals are 95% percentile bootstraps over
    the responses, as the profile's are."""
    means = {key: values[key]["mean"] for key in dimensions}
    expected = np.array([[row["expected"][key] for key in dimensions] for row in scores], float)
    columns = np.column_stack([distances(scores, target, dimensions), expected])
    boot = resampled_means(columns, samples=samples, seed=seed)
    weights = np.array([target[key] for key in dimensions], float)
    total_weight = np.abs(weights).sum()
    weighted = boot[:, 1:] @ weights / total_weight if total_weight else np.zeros(len(boot))
    low, high = percentile_interval(np.column_stack([boot[:, 0], weighted]))
    return {
        "distance": round(float(columns[:, 0].mean()), 4),
        "distance_ci": [round(float(low[0]), 4), round(float(high[0]), 4)],
        "weighted": round(weighted_alignment(means, target), 4),
        "weighted_ci": [round(float(low[1]), 4), round(float(high[1]), 4)],
        "n": len(scores),
    }


def disagreement(expected_by_subject: Sequence[Mapping[str, float]], value: str | None) -> float:
    """Return how much subjects' expected labels differ on one item: the variance across subjects
    of the expected label of ``value`` (or, with no value, the mean of the per-value variances)."""
    if len(expected_by_subject) < 2:
        return 0.0
    if value:
        return float(np.var([row[value] for row in expected_by_subject]))
    keys = list(expected_by_subject[0])
    matrix = np.array([[row[key] for key in keys] for row in expected_by_subject], float)
    return float(matrix.var(axis=0).mean())


def contract_json(
    *,
    subject: str,
    evaluator: str,
    values: Mapping[str, Mapping],
    n: int,
    alignment_scores: Mapping[str, float] | None,
) -> dict:
    """Return the profile as ``profile_model`` writes it (the contracts' shape, nothing more)."""
    return {
        "subject": subject,
        "evaluator": evaluator,
        "n": n,
        "values": {
            key: {
                "mean": entry["mean"],
                "ci": list(entry["ci"]),
                "upholds": entry["upholds"],
                "violates": entry["violates"],
            }
            for key, entry in values.items()
        },
        "alignment": dict(alignment_scores) if alignment_scores is not None else None,
    }
