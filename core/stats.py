"""Small statistics shared by the apps' figures (pure; no database)."""

import math


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
