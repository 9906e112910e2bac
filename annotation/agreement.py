"""Agreement between annotators, per dimension; pure computation on label counts, no database.

Everything starts from a count matrix: for each item, how many annotators gave each label,
``counts[item, label index]`` with labels in ``LABELS`` order (-1, 0, +1). Several dimensions
stack as ``counts[item, dimension, label]``.

- Krippendorff's alpha, ordinal: the point estimate comes from the ``krippendorff`` library.
- Gwet's AC1 (nominal) and AC2 (Gwet's ordinal weights), robust when most labels are 0, where
  kappa-like coefficients collapse (Gwet, Handbook of Inter-Rater Reliability, 4th ed.).
- Bootstrap confidence intervals over items, seeded. Every coefficient here is a ratio of sums
  over items (alpha's coincidence matrix, AC's agreement and category shares), so a resample is
  a weighting of per-item terms, computed once per distinct count vector: one matrix product
  per batch of resamples. Past 2,000 items, random groups of items are resampled instead of
  single items (the same spread, far less work).
- The share of annotators agreeing with the item's majority label (ties -> 0, as the export).
"""

import warnings
from collections.abc import Sequence

import krippendorff
import numpy as np

LABELS = (-1, 0, 1)
DEFAULT_RESAMPLES = 200
DEFAULT_SEED = 20240917
BOOTSTRAP_BATCH = 25
BOOTSTRAP_MAX_UNITS = 2000


def label_counts(ratings: Sequence[Sequence[int]], categories: Sequence = LABELS) -> np.ndarray:
    """Return the (items, categories) count matrix of per-item lists of labels."""
    index = {category: position for position, category in enumerate(categories)}
    counts = np.zeros((len(ratings), len(categories)))
    for row, given in enumerate(ratings):
        for label in given:
            counts[row, index[label]] += 1
    return counts


def ordinal_weights(q: int) -> np.ndarray:
    """Return Gwet's ordinal weights for ``q`` ordered categories: 1 on the diagonal, 0 apart.

    ``w_kl = 1 - C(|k-l|+1, 2) / max``; for three labels: same 1, next to each other 2/3,
    opposite 0.
    """
    distance = np.abs(np.subtract.outer(np.arange(q), np.arange(q)))
    combinations = (distance + 1) * distance / 2
    return 1 - combinations / combinations.max() if q > 1 else np.ones((1, 1))


def krippendorff_alpha(counts: np.ndarray, *, categories: Sequence = LABELS) -> float | None:
    """Return ordinal Krippendorff's alpha of an (items, categories) count matrix.

    None when it is undefined: fewer than two pairable labels, or every label the same.
    """
    counts = np.asarray(counts, dtype=float)
    pairable = counts[counts.sum(axis=1) >= 2]
    if pairable.sum() < 2 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None
    value = krippendorff.alpha(
        value_counts=pairable, value_domain=list(categories), level_of_measurement="ordinal"
    )
    return float(value)


# --- per-item terms and the coefficients computed from their (weighted) sums ------------------


def _terms(counts: np.ndarray) -> np.ndarray:
    """Return per-item terms (..., q*q + 6 + q) whose sums over items give every coefficient.

    Layout: the item's coincidences (q*q), AC1 agreement, AC2 agreement, has two or more
    labels, the item's category shares (q), has a label, share agreeing with the majority.
    """
    q = counts.shape[-1]
    raters = counts.sum(axis=-1)
    pairable = raters >= 2
    labelled = raters >= 1
    pairs = np.where(pairable, raters * (raters - 1), 1.0)
    coincidence = counts[..., :, None] * counts[..., None, :] - counts[..., None] * np.eye(q)
    coincidence = coincidence / np.where(pairable, raters - 1, 1.0)[..., None, None]
    coincidence = coincidence * pairable[..., None, None]
    agree_nominal = (counts * (counts - 1)).sum(axis=-1) / pairs * pairable
    weighted = _product(counts, ordinal_weights(q))
    agree_ordinal = (counts * (weighted - 1)).sum(axis=-1) / pairs * pairable
    shares = counts / np.where(labelled, raters, 1.0)[..., None]
    majority = majority_labels(counts)
    majority_count = np.take_along_axis(counts, majority[..., None], axis=-1)[..., 0]
    majority_share = majority_count / np.where(labelled, raters, 1.0) * labelled
    return np.concatenate(
        [
            coincidence.reshape(*counts.shape[:-1], q * q),
            agree_nominal[..., None],
            agree_ordinal[..., None],
            pairable[..., None].astype(float),
            shares,
            labelled[..., None].astype(float),
            majority_share[..., None],
        ],
        axis=-1,
    )


def majority_labels(counts: np.ndarray) -> np.ndarray:
    """Return the index of each item's majority label; the middle (0) on a tie or no label.

    The same rule as ``aggregation.majority_label`` for three labels, on whole count matrices.
    """
    counts = np.asarray(counts)
    q = counts.shape[-1]
    middle = q // 2
    top = counts.max(axis=-1, keepdims=True)
    is_top = counts == top
    unique = is_top.sum(axis=-1) == 1
    winner = counts.argmax(axis=-1)
    return np.where(unique & (top[..., 0] > 0), winner, middle)


def _coefficients(sums: np.ndarray, q: int) -> dict[str, np.ndarray]:
    """Return alpha, AC1, AC2 and the majority share from summed terms (..., width)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        coincidence = sums[..., : q * q].reshape(*sums.shape[:-1], q, q)
        at = q * q
        agree_nominal, agree_ordinal, n_pairable = (sums[..., at + i] for i in range(3))
        shares = sums[..., at + 3 : at + 3 + q]
        n_labelled = sums[..., at + 3 + q]
        majority_share = sums[..., at + 4 + q]

        # Krippendorff: 1 - (n - 1) * sum(o_ck d2_ck) / sum(n_c n_k d2_ck), ordinal d2.
        marginals = coincidence.sum(axis=-1)
        n = marginals.sum(axis=-1)
        cumulative = np.cumsum(marginals, axis=-1)
        low, high = (
            np.minimum.outer(np.arange(q), np.arange(q)),
            np.maximum.outer(np.arange(q), np.arange(q)),
        )
        between = cumulative[..., high] - cumulative[..., low] + marginals[..., low]
        d2 = (between - (marginals[..., low] + marginals[..., high]) / 2) ** 2
        observed = (coincidence * d2).sum(axis=(-1, -2))
        expected = (marginals[..., :, None] * marginals[..., None, :] * d2).sum(axis=(-1, -2))
        alpha = np.where(expected > 0, 1 - (n - 1) * observed / expected, np.nan)

        # Gwet: (pa - pe) / (1 - pe), pe from the category shares.
        pi = shares / n_labelled[..., None]
        spread = (pi * (1 - pi)).sum(axis=-1)
        pe_nominal = spread / (q - 1)
        pe_ordinal = ordinal_weights(q).sum() * spread / (q * (q - 1))
        ac1 = (agree_nominal / n_pairable - pe_nominal) / (1 - pe_nominal)
        ac2 = (agree_ordinal / n_pairable - pe_ordinal) / (1 - pe_ordinal)
        return {
            "alpha": alpha,
            "ac1": np.where(n_pairable > 0, ac1, np.nan),
            "ac2": np.where(n_pairable > 0, ac2, np.nan),
            "majority_share": majority_share / n_labelled,
        }


def gwet_ac(counts: np.ndarray, *, ordinal: bool = False) -> float | None:
    """Return Gwet's AC1 (nominal) or, with ``ordinal``, AC2 with ordinal weights.

    Items with one label count towards the category shares, not the observed agreement
    (Gwet's definition). None when no item has two labels.
    """
    counts = np.asarray(counts, dtype=float)
    patterns, which = _patterns(counts)
    histogram = np.bincount(which.ravel(), minlength=len(patterns)).astype(float)
    sums = _product(histogram, _terms(patterns)) if len(patterns) else _terms(counts).sum(axis=0)
    value = _coefficients(sums, counts.shape[-1])["ac2" if ordinal else "ac1"]
    return None if np.isnan(value) else float(value)


def _product(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Return ``left @ right`` over the last axis of ``left``, without BLAS.

    These products are small; a multithreaded BLAS spins its threads on them and, on a busy
    machine, took a hundred times longer than this plain loop.
    """
    return np.einsum("...i,ij->...j", left, right)


def _clean(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 4)


def agreement_by_dimension(
    counts: np.ndarray,
    dimension_keys: Sequence[str],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict[str, dict]:
    """Return each dimension's coefficients with bootstrap intervals, from (items, dims, q).

    ``{key: {"alpha", "alpha_ci", "ac1", "ac1_ci", "ac2", "ac2_ci", "majority_share",
    "majority_share_ci", "items"}}``, an interval being ``[low, high]`` (percentiles over
    ``resamples`` resamples of the items, the same resamples for every dimension) or None when
    undefined. ``items`` counts the items with two or more labels.

    An item's terms depend only on its count vector, and with a few annotators per item there
    are only a few distinct vectors: the terms are computed once per distinct vector and every
    sum (the estimate, each resample) is a histogram of vectors times those terms.
    """
    counts = np.asarray(counts, dtype=float)
    n_items, n_dimensions, q = counts.shape
    patterns, which = _patterns(counts)  # (P, q), (items, dims) pattern index
    pattern_terms = _terms(patterns)  # (P, width)
    n_patterns = len(patterns)
    cell = np.arange(n_dimensions) * n_patterns + which  # (items, dims) into dims x patterns
    histogram = np.bincount(cell.ravel(), minlength=n_dimensions * n_patterns).reshape(
        n_dimensions, n_patterns
    )
    point = _coefficients(_product(histogram.astype(float), pattern_terms), q)
    intervals = _bootstrap(
        cell,
        pattern_terms,
        n_patterns,
        q,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
    )
    pairable = (counts.sum(axis=-1) >= 2).sum(axis=0)
    table = {}
    for d, key in enumerate(dimension_keys):
        alpha = krippendorff_alpha(counts[:, d, :]) if n_items else None
        row = {"alpha": None if alpha is None else round(alpha, 4)}
        for name in ("ac1", "ac2"):
            row[name] = _clean(point[name][d])
        row["majority_share"] = _clean(point["majority_share"][d])
        for name in ("alpha", "ac1", "ac2", "majority_share"):
            interval = intervals.get(name)
            row[f"{name}_ci"] = (
                None
                if interval is None or row[name] is None or np.isnan(interval[:, d]).any()
                else [round(float(interval[0, d]), 4), round(float(interval[1, d]), 4)]
            )
        row["items"] = int(pairable[d])
        table[key] = row
    return table


def _patterns(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct count vectors and, per (item, dimension), the index of its vector."""
    q = counts.shape[-1]
    if counts.size == 0:
        return np.zeros((0, q)), np.zeros(counts.shape[:-1], dtype=np.int64)
    whole = counts.astype(np.int64)
    base = int(whole.max()) + 1
    code = np.zeros(whole.shape[:-1], dtype=np.int64)
    for position in range(q):
        code = code * base + whole[..., position]
    if base**q <= 10_000_000:
        # Few possible vectors (a handful of annotators per item): a lookup beats sorting.
        present = np.flatnonzero(np.bincount(code.ravel(), minlength=base**q))
        lookup = np.zeros(base**q, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        unique, which = present, lookup[code.ravel()]
    else:
        unique, which = np.unique(code.ravel(), return_inverse=True)
    patterns = np.zeros((len(unique), q))
    rest = unique.copy()
    for position in reversed(range(q)):
        patterns[:, position] = rest % base
        rest //= base
    return patterns, which.reshape(code.shape)


def _bootstrap(
    cell: np.ndarray,
    pattern_terms: np.ndarray,
    n_patterns: int,
    q: int,
    *,
    resamples: int,
    seed: int,
    confidence: float,
) -> dict[str, np.ndarray]:
    """Return {coefficient: array (2, dims)} of percentile intervals over item resamples.

    ``cell[item, dim]`` is ``dim * n_patterns + pattern``. Past ``BOOTSTRAP_MAX_UNITS`` items,
    items are dealt at random into that many groups and groups are resampled: items are
    exchangeable, so group sums spread as item sums do, for a fraction of the work.
    """
    n_items, n_dimensions = cell.shape
    if n_items < 2 or resamples < 1:
        return {}
    rng = np.random.default_rng(seed)
    width = n_dimensions * n_patterns
    units = min(n_items, BOOTSTRAP_MAX_UNITS)
    unit = rng.permutation(n_items) % units if n_items > units else np.arange(n_items)
    # unit_histograms[u, dim * P + pattern]: how many items of unit u have that pattern.
    index = (unit[:, None] * width + cell).ravel()
    unit_histograms = np.bincount(index, minlength=units * width).reshape(units, width)
    unit_histograms = unit_histograms.astype(float)
    draws: dict[str, list[np.ndarray]] = {"alpha": [], "ac1": [], "ac2": [], "majority_share": []}
    for start in range(0, resamples, BOOTSTRAP_BATCH):
        batch = min(BOOTSTRAP_BATCH, resamples - start)
        picks = rng.integers(0, units, size=(batch, units))
        weights = np.stack([np.bincount(row, minlength=units) for row in picks]).astype(float)
        histograms = _product(weights, unit_histograms).reshape(batch, n_dimensions, n_patterns)
        values = _coefficients(_product(histograms, pattern_terms), q)
        for name in draws:
            draws[name].append(values[name])
    tail = (1 - confidence) / 2 * 100
    intervals = {}
    for name, chunks in draws.items():
        stacked = np.concatenate(chunks, axis=0)  # (resamples, dims)
        with warnings.catch_warnings():
            # A dimension undefined in every resample (all labels 0) gives NaN: no interval.
            warnings.simplefilter("ignore", RuntimeWarning)
            intervals[name] = np.nanpercentile(stacked, [tail, 100 - tail], axis=0)
    return intervals


def pair_agreement(first: Sequence[int] | np.ndarray, second: Sequence[int] | np.ndarray) -> dict:
    """Return how two raters of the same items agree: share identical, AC1 and AC2.

    Used for the LLM's pre-label against the human majority.
    """
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    if first.shape != second.shape:
        raise ValueError("both raters must label the same items")
    if not len(first):
        return {"items": 0, "share_equal": None, "ac1": None, "ac2": None}
    rows = np.arange(len(first))
    counts = np.zeros((len(first), len(LABELS)))
    counts[rows, first + 1] += 1
    counts[rows, second + 1] += 1
    equal = float((first == second).mean())
    ac1, ac2 = gwet_ac(counts), gwet_ac(counts, ordinal=True)
    return {
        "items": int(len(first)),
        "share_equal": round(equal, 4),
        "ac1": None if ac1 is None else round(ac1, 4),
        "ac2": None if ac2 is None else round(ac2, 4),
    }


def distribution(counts_by_label: Sequence[int]) -> dict:
    """Return the shares of -1, 0 and +1 from their counts (all None with no label)."""
    total = sum(counts_by_label)
    return {
        str(label): (round(count / total, 4) if total else None)
        for label, count in zip(LABELS, counts_by_label, strict=True)
    }


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the 2-D principal-component coordinates of ``vectors`` and the explained shares.

    Centred, by SVD; fewer than two items or no variance give zeros.
    """
    vectors = np.asarray(vectors, dtype=float)
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2)), np.zeros(2)
    centred = vectors - vectors.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    total = variance.sum()
    coordinates = _product(centred, components[:2].T)
    if coordinates.shape[1] < 2:
        coordinates = np.pad(coordinates, ((0, 0), (0, 2 - coordinates.shape[1])))
    explained = variance[:2] / total if total > 0 else np.zeros(2)
    return coordinates, np.pad(explained, (0, 2 - len(explained)))
