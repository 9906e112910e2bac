"""Small statistics shared by the apps' figures (pure; no database)."""

import math
from collections.abc import Sequence

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 2000
BLOCK = 250


def wilson(hits: int, n: int, z: float = 1.96) -> list[float]:
    """Return the 95% Wilson interval of a share hits/n ([0, 1] when n is 0).

    Written here rather than taken from a library: it is four lines, and the libraries that have
    it (statsmodels, scipy) would each be a large dependency for them.
    """
    if n == 0:
        return [0.0, 1.0]
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def resampled_means(columns: np.ndarray, *, samples: int, seed: int) -> np.ndarray:
    """Return the column means of ``samples`` bootstrap resamples of the rows, (samples, cols).

    Each resample is drawn as counts of every row (multinomial), in blocks to bound memory; its
    means are then one matrix product: (block, n) @ (n, cols).
    """
    n = len(columns)
    rng = np.random.default_rng(seed)
    blocks = []
    for start in range(0, samples, BLOCK):
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(BLOCK, samples - start))
        blocks.append(counts @ columns / n)
    return np.concatenate(blocks)


def percentile_interval(boot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the 95% percentile interval (low, high) of bootstrap statistics, per column."""
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail], axis=0)
    return low, high


def mean_interval(
    values: Sequence[float], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> list[float]:
    """Return the 95% percentile-bootstrap interval of the mean of ``values`` (none: []).

    One column, usually short (a worker's gold items): drawing row indices is about five times
    faster here than the multinomial counts ``resampled_means`` draws (measured at 120 values).
    """
    if not len(values):
        return []
    column = np.asarray(values, float)
    n = len(column)
    rng = np.random.default_rng(seed)
    block = max(1, min(samples, 2_000_000 // n))  # at most ~16 MB of indices at a time
    means = [
        column[rng.integers(0, n, size=(min(block, samples - start), n))].mean(axis=1)
        for start in range(0, samples, block)
    ]
    low, high = percentile_interval(np.concatenate(means))
    return [round(float(low), 4), round(float(high), 4)]
