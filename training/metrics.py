"""Classification metrics for -1/0/+1 labels, with the majority-class baseline beside them."""

from collections import Counter
from collections.abc import Sequence

CLASSES = (-1, 0, 1)


def confusion(gold: Sequence[int], guess: Sequence[int]) -> list[list[int]]:
    """Return the 3x3 confusion matrix, rows = gold (-1, 0, 1), columns = predicted."""
    matrix = [[0, 0, 0] for _ in CLASSES]
    for g, p in zip(gold, guess, strict=True):
        matrix[g + 1][p + 1] += 1
    return matrix


def macro_f1(gold: Sequence[int], guess: Sequence[int]) -> float:
    """Return the mean F1 over the classes present in gold or predictions."""
    present = sorted(set(gold) | set(guess))
    if not present:
        return 0.0
    scores = []
    for label in present:
        tp = sum(1 for g, p in zip(gold, guess, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, guess, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, guess, strict=True) if g == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def accuracy(gold: Sequence[int], guess: Sequence[int]) -> float:
    return sum(g == p for g, p in zip(gold, guess, strict=True)) / len(gold) if gold else 0.0


def dimension_metrics(
    gold: Sequence[int],
    guess: Sequence[int],
    train_labels: Sequence[int],
    rows: Sequence[int] | None = None,
) -> dict:
    """Return accuracy, macro-F1 and confusion, and the same for always guessing the train
    set's most common label (most labels are 0, so accuracy alone flatters).

    ``rows`` names the test example of each cell (default: the cells' order), so
    :func:`summarise` can bootstrap over examples; it is not kept in the result.
    """
    majority = Counter(train_labels).most_common(1)[0][0] if train_labels else 0
    baseline = [majority] * len(gold)
    cells = (list(range(len(gold))) if rows is None else list(rows), list(gold), list(guess))
    return {
        "_cells": cells,
        "n": len(gold),
        "accuracy": round(accuracy(gold, guess), 4),
        "macro_f1": round(macro_f1(gold, guess), 4),
        "confusion": confusion(gold, guess),
        "baseline_label": majority,
        "baseline_accuracy": round(accuracy(gold, baseline), 4),
        "baseline_macro_f1": round(macro_f1(gold, baseline), 4),
    }


BOOTSTRAP_RESAMPLES = 300
CONFIDENCE = 0.95


def supported(per_dimension: dict[str, dict]) -> list[str]:
    """Return the dimensions with support in the test split: at least one test label that is
    not 0 (a value the test set never touches scores 1.0 for any model that says 0)."""
    return [
        key
        for key, metrics in per_dimension.items()
        if metrics["n"] and any(sum(row) for row in metrics["confusion"][::2])
    ]


def _weighted_macro_f1(weights, gold, guess):
    import numpy as np

    scores, present = [], []
    for label in CLASSES:
        is_gold, is_guess = gold == label, guess == label
        tp = weights @ (is_gold & is_guess)
        fp = weights @ (~is_gold & is_guess)
        fn = weights @ (is_gold & ~is_guess)
        denominator = 2 * tp + fp + fn
        present.append(denominator > 0)
        scores.append(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-12), 0.0))
    scores, present = np.stack(scores), np.stack(present)
    return (scores * present).sum(0) / np.maximum(present.sum(0), 1)


def bootstrap_intervals(
    per_dimension: dict[str, dict], keys: Sequence[str], *, seed: int = 0
) -> dict[str, list[float]]:
    """Return 95% bootstrap intervals (resampling test examples) of the pooled accuracy and
    mean macro-F1 over ``keys``, for the model, the majority baseline, and their difference."""
    import numpy as np

    cells = {key: per_dimension[key]["_cells"] for key in keys if per_dimension[key]["n"]}
    if not cells:
        return {}
    examples = sorted({row for rows, _g, _p in cells.values() for row in rows})
    position = {row: index for index, row in enumerate(examples)}
    generator = np.random.default_rng(seed)
    counts = generator.multinomial(
        len(examples), [1 / len(examples)] * len(examples), size=BOOTSTRAP_RESAMPLES
    ).astype(float)
    correct = {"model": 0.0, "baseline": 0.0}
    total = 0.0
    f1 = {"model": [], "baseline": []}
    for key, (rows, gold, guess) in cells.items():
        weights = counts[:, [position[row] for row in rows]]
        gold = np.asarray(gold)
        guesses = {
            "model": np.asarray(guess),
            "baseline": np.full(len(gold), per_dimension[key]["baseline_label"]),
        }
        total = total + weights.sum(1)
        for name, predicted in guesses.items():
            correct[name] = correct[name] + weights @ (gold == predicted)
            f1[name].append(_weighted_macro_f1(weights, gold, predicted))
    low, high = (1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100

    def interval(values) -> list[float]:
        return [
            round(float(np.percentile(values, low)), 4),
            round(float(np.percentile(values, high)), 4),
        ]

    accuracy_model = correct["model"] / np.maximum(total, 1)
    accuracy_baseline = correct["baseline"] / np.maximum(total, 1)
    f1_model, f1_baseline = np.mean(f1["model"], 0), np.mean(f1["baseline"], 0)
    return {
        "accuracy_ci": interval(accuracy_model),
        "baseline_accuracy_ci": interval(accuracy_baseline),
        "accuracy_gain_ci": interval(accuracy_model - accuracy_baseline),
        "macro_f1_ci": interval(f1_model),
        "baseline_macro_f1_ci": interval(f1_baseline),
        "macro_f1_gain_ci": interval(f1_model - f1_baseline),
    }


def summarise(per_dimension: dict[str, dict], *, intervals: bool = True) -> dict:
    """Add overall figures over the dimensions with support in the test split (named in
    ``supported``): accuracy over their labelled cells, mean macro-F1, each with a 95% bootstrap
    interval over test examples, beside the majority baseline. ``all_dimensions`` keeps the
    same figures over every dimension, for comparison with older cards. ``intervals=False``
    leaves the bootstrap out (an epoch's validation, where only the macro-F1 is read)."""
    keys = supported(per_dimension)
    intervals = bootstrap_intervals(per_dimension, keys) if intervals else {}
    for metrics in per_dimension.values():
        metrics.pop("_cells", None)

    def figures(chosen: Sequence[str]) -> dict:
        scored = [per_dimension[key] for key in chosen if per_dimension[key]["n"]]
        cells = sum(m["n"] for m in scored)

        def pooled(name: str) -> float:
            return round(sum(m[name] * m["n"] for m in scored) / cells, 4) if cells else 0.0

        def mean(name: str) -> float:
            return round(sum(m[name] for m in scored) / len(scored), 4) if scored else 0.0

        return {
            "n": cells,
            "accuracy": pooled("accuracy"),
            "macro_f1": mean("macro_f1"),
            "baseline_accuracy": pooled("baseline_accuracy"),
            "baseline_macro_f1": mean("baseline_macro_f1"),
        }

    overall = (
        figures(keys)
        | intervals
        | {
            "supported": keys,
            "unsupported": [key for key in per_dimension if key not in keys],
            "all_dimensions": figures(list(per_dimension)),
        }
    )
    return {"overall": overall, "dimensions": per_dimension}
