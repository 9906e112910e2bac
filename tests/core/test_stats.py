"""The intervals the researchers' figures carry (core.stats; no database)."""

from core.stats import mean_interval, wilson


def test_wilson_interval():
    assert wilson(0, 0) == [0.0, 1.0]
    low, high = wilson(8, 10)
    assert 0.44 < low < 0.5 and 0.94 < high < 0.96


def test_mean_interval_brackets_the_mean_and_is_repeatable():
    values = [1.0, 1.0, 0.5, 0.9, 0.2, 1.0, 0.8]  # mean 0.771
    low, high = mean_interval(values)
    assert 0.2 < low < 0.771 < high <= 1.0
    assert mean_interval(values) == [low, high]  # the same seed, the same interval
    assert mean_interval([0.5] * 5) == [0.5, 0.5]
    assert mean_interval([]) == []
