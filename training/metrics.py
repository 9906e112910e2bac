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
    gold: Sequence[int], guess: Sequence[int], train_labels: Sequence[int]
) -> dict:
    """Return accuracy, macro-F1 and confusion, and the same for always guessing the train
    set's most common label (most labels are 0, so accuracy alone flatters)."""
    majority = Counter(train_labels).most_common(1)[0][0] if train_labels else 0
    baseline = [majority] * len(gold)
    return {
        "n": len(gold),
        "accuracy": round(accuracy(gold, guess), 4),
        "macro_f1": round(macro_f1(gold, guess), 4),
        "confusion": confusion(gold, guess),
        "baseline_label": majority,
        "baseline_accuracy": round(accuracy(gold, baseline), 4),
        "baseline_macro_f1": round(macro_f1(gold, baseline), 4),
    }


def summarise(per_dimension: dict[str, dict]) -> dict:
    """Add overall figures: accuracy over every labelled cell, mean macro-F1 over dimensions."""
    cells = sum(m["n"] for m in per_dimension.values())
    scored = [m for m in per_dimension.values() if m["n"]]

    def pooled(key: str) -> float:
        return round(sum(m[key] * m["n"] for m in scored) / cells, 4) if cells else 0.0

    def mean(key: str) -> float:
        return round(sum(m[key] for m in scored) / len(scored), 4) if scored else 0.0

    return {
        "overall": {
            "n": cells,
            "accuracy": pooled("accuracy"),
            "macro_f1": mean("macro_f1"),
            "baseline_accuracy": pooled("baseline_accuracy"),
            "baseline_macro_f1": mean("baseline_macro_f1"),
        },
        "dimensions": per_dimension,
    }
