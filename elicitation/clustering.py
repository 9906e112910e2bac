"""Clustering of embedded texts and agreement between clusterings: numpy only, no database.

``agglomerate`` is average-linkage agglomerative clustering on cosine similarity that starts from
given groups (clusters already settled stay together and never merge with one another) and asks
a caller-supplied ``may_merge`` before every merge, so an LLM or a person can veto one.
"""

from collections.abc import Callable, Sequence

import numpy as np

MayMerge = Callable[[list[int], list[int], float], bool]


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Return ``vectors`` (rows) scaled to unit length; a zero row stays zero."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Return the rows' pairwise cosine similarities (n × n)."""
    unit = normalised(vectors)
    return unit @ unit.T


def agglomerate(
    vectors: np.ndarray,
    *,
    groups: Sequence[Sequence[int]],
    threshold: float,
    fixed: Sequence[bool] | None = None,
    may_merge: MayMerge | None = None,
) -> list[list[int]]:
    """Merge ``groups`` of item indices by average linkage while the best link ≥ ``threshold``.

    ``vectors`` are the items' embeddings; the link of two groups is the mean cosine similarity
    of their items' pairs, which is the dot product of the groups' mean unit vectors, so memory
    grows with the number of groups, not items squared. Two groups marked ``fixed`` never merge
    with each other (a group that absorbs a fixed one is fixed). Before each merge
    ``may_merge(members_a, members_b, link)`` is asked; a refusal keeps that pair (and whatever
    they later absorb) apart. Return the groups, each in item order, ordered by first item.
    """
    count = len(groups)
    if count == 0:
        return []
    unit = normalised(vectors)
    members = [sorted(group) for group in groups]
    fixed_flags = np.array(list(fixed) if fixed is not None else [False] * count, dtype=bool)
    sizes = np.array([len(group) for group in members], dtype=np.float64)
    totals = np.stack([unit[group].sum(axis=0) for group in members])
    sums = totals @ totals.T
    blocked = np.eye(count, dtype=bool) | np.outer(fixed_flags, fixed_flags)
    alive = np.ones(count, dtype=bool)

    def links() -> np.ndarray:
        averaged = sums / np.outer(sizes, sizes).clip(min=1)
        mask = blocked | ~alive[:, None] | ~alive[None, :]
        return np.where(mask, -np.inf, averaged)

    current = links()
    while True:
        flat = int(np.argmax(current))
        first, second = divmod(flat, count)
        link = float(current[first, second])
        if not np.isfinite(link) or link < threshold:
            break
        if may_merge is not None and not may_merge(members[first], members[second], link):
            blocked[first, second] = blocked[second, first] = True
            current[first, second] = current[second, first] = -np.inf
            continue
        # Keep the group that holds the earlier item, so results do not depend on argmax ties.
        keep, drop = (first, second) if members[first][0] < members[second][0] else (second, first)
        members[keep] = sorted(members[keep] + members[drop])
        members[drop] = []
        totals[keep] += totals[drop]
        sizes[keep] += sizes[drop]
        row = totals @ totals[keep]
        sums[keep, :] = row
        sums[:, keep] = row
        blocked[keep, :] |= blocked[drop, :]
        blocked[:, keep] |= blocked[:, drop]
        if fixed_flags[drop]:
            fixed_flags[keep] = True
            blocked[keep, fixed_flags] = True
            blocked[fixed_flags, keep] = True
        blocked[keep, keep] = True
        alive[drop] = False
        current = links()
    return sorted((group for group in members if group), key=lambda group: group[0])


def medoid(members: Sequence[int], vectors: np.ndarray) -> int:
    """Return the member most similar on average to the others (the first one on a tie)."""
    members = list(members)
    if len(members) == 1:
        return members[0]
    unit = normalised(np.asarray(vectors)[members])
    return members[int(np.argmax(unit @ unit.sum(axis=0)))]


def _pairs(counts: np.ndarray) -> float:
    counts = np.asarray(counts, dtype=np.float64)
    return float((counts * (counts - 1) / 2).sum())


def adjusted_rand_index(truth: Sequence, predicted: Sequence) -> float:
    """Return the adjusted Rand index of two labellings of the same items (1 = identical).

    Hubert and Arabie's correction for chance: 0 is what random labels with the same cluster
    sizes score on average; it can go below 0. Two labellings that put every item in one cluster,
    or every item alone, agree perfectly and score 1.
    """
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted ones")
    n_items = len(truth)
    if n_items < 2:
        return 1.0
    _, true_codes = np.unique(np.asarray(truth, dtype=object).astype(str), return_inverse=True)
    _, predicted_codes = np.unique(
        np.asarray(predicted, dtype=object).astype(str), return_inverse=True
    )
    table = np.zeros((true_codes.max() + 1, predicted_codes.max() + 1))
    np.add.at(table, (true_codes, predicted_codes), 1)
    index = _pairs(table)
    true_pairs = _pairs(table.sum(axis=1))
    predicted_pairs = _pairs(table.sum(axis=0))
    expected = true_pairs * predicted_pairs / (n_items * (n_items - 1) / 2)
    maximum = (true_pairs + predicted_pairs) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)
