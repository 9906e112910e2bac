"""Combine several annotators' labels of one item into one label per dimension; no database."""

from collections.abc import Mapping, Sequence


def majority_label(labels: Sequence[int]) -> int:
    """Return the label given most often; 0 (unrelated) when none is, or when two tie for most.

    A tie means the annotators did not settle on a direction, and 0 claims the least.
    """
    # Three counts beat a Counter here: the export calls this once per item and dimension.
    upholds, unrelated, violates = labels.count(1), labels.count(0), labels.count(-1)
    if upholds > unrelated and upholds > violates:
        return 1
    if violates > unrelated and violates > upholds:
        return -1
    return 0


def aggregate(
    annotations: Sequence[Mapping[str, int]], dimension_keys: Sequence[str]
) -> tuple[dict[str, int], dict[str, float]]:
    """Return (labels, agreement) in scheme order for the label dicts of one item.

    ``agreement`` is the share of the annotators who labelled a dimension that gave the
    aggregate label; 0.0 when nobody labelled it.
    """
    labels: dict[str, int] = {}
    agreement: dict[str, float] = {}
    for key in dimension_keys:
        given = [annotation[key] for annotation in annotations if key in annotation]
        label = majority_label(given)
        labels[key] = label
        agreement[key] = round(given.count(label) / len(given), 4) if given else 0.0
    return labels, agreement
