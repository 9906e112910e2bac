"""Agreement coefficients against textbook figures and hand-computed examples (no database)."""

import numpy as np
import pytest

from annotation.aggregation import majority_label
from annotation.agreement import (
    _coefficients,
    _terms,
    agreement_by_dimension,
    distribution,
    gwet_ac,
    krippendorff_alpha,
    label_counts,
    majority_labels,
    ordinal_weights,
    pair_agreement,
    pca_2d,
)

# Four raters, twelve units, five ordered categories, some ratings missing: the example of
# Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011), also used by Gwet,
# "Handbook of Inter-Rater Reliability" (4th ed., 2014).
RATERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
GWET_RATERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, None],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
FIVE = (1, 2, 3, 4, 5)


def units(raters):
    return [[rater[u] for rater in raters if rater[u] is not None] for u in range(len(raters[0]))]


def test_alpha_matches_krippendorffs_published_ordinal_figure():
    counts = label_counts(units(RATERS), categories=FIVE)
    assert krippendorff_alpha(counts, categories=FIVE) == pytest.approx(0.815, abs=5e-4)


def test_ac1_and_ac2_match_gwets_handbook_example():
    counts = label_counts(units(GWET_RATERS), categories=FIVE)
    # Gwet's handbook: AC1 = 0.77544 (pa 0.81818, pe 0.19032). AC2 with ordinal weights: 0.89894,
    # as irrCAC (the Python port of Gwet's R package) computes it for the same data.
    assert gwet_ac(counts) == pytest.approx(0.77544, abs=5e-6)
    assert gwet_ac(counts, ordinal=True) == pytest.approx(0.89894, abs=5e-6)


def test_ac1_and_ac2_by_hand_on_three_items():
    # Items: (0,0,0), (0,0,+1), (+1,+1,-1).
    # AC1: pa = (1 + 1/3 + 1/3)/3 = 5/9; pi = (1/9, 5/9, 3/9); pe = (8+20+18)/81 / 2 = 23/81;
    #      (5/9 - 23/81) / (1 - 23/81) = 22/58.
    # AC2: weights 1 / 2/3 / 0; pa = (1 + 7/9 + 1/3)/3 = 19/27; pe = 17/3 / 6 * 46/81 = 391/729;
    #      (513 - 391) / (729 - 391) = 122/338.
    counts = label_counts([[0, 0, 0], [0, 0, 1], [1, 1, -1]])
    assert gwet_ac(counts) == pytest.approx(22 / 58)
    assert gwet_ac(counts, ordinal=True) == pytest.approx(122 / 338)


def test_gwets_ordinal_weights_for_three_labels():
    assert ordinal_weights(3) == pytest.approx(
        np.array([[1, 2 / 3, 0], [2 / 3, 1, 2 / 3], [0, 2 / 3, 1]])
    )


def test_bootstrap_alpha_formula_equals_the_library_on_random_labels():
    rng = np.random.default_rng(3)
    counts = rng.multinomial(3, [0.1, 0.8, 0.1], size=400).astype(float)
    counts[:40] = rng.multinomial(1, [0.2, 0.6, 0.2], size=40)  # some items with one label
    ours = float(_coefficients(_terms(counts).sum(axis=0), 3)["alpha"])
    assert ours == pytest.approx(krippendorff_alpha(counts), rel=1e-9)


def test_mostly_zero_labels_keep_ac1_high_where_alpha_collapses():
    # 95 items everyone calls unrelated, 5 where one of three annotators says +1.
    ratings = [[0, 0, 0]] * 95 + [[0, 0, 1]] * 5
    counts = label_counts(ratings)
    assert gwet_ac(counts) > 0.9
    assert krippendorff_alpha(counts) < 0.1


def test_undefined_coefficients_are_none_not_errors():
    assert krippendorff_alpha(label_counts([[0, 0], [0, 0]])) is None  # no variation
    assert krippendorff_alpha(label_counts([[1], [0]])) is None  # nothing pairable
    assert gwet_ac(label_counts([[1], [0]])) is None
    assert gwet_ac(label_counts([[0, 0], [1, 1]])) == pytest.approx(1.0)


def test_majority_is_the_exports_rule_ties_and_empties_are_zero():
    cases = [[1, 1, 0], [-1, 0, 1], [-1, -1, 1], [0, 1], [], [1]]
    counts = label_counts(cases)
    expected = [majority_label(case) for case in cases]
    assert [(-1, 0, 1)[index] for index in majority_labels(counts)] == expected


def test_table_per_dimension_has_intervals_around_the_estimates_and_is_seeded():
    rng = np.random.default_rng(5)
    agreeing = np.repeat(rng.multinomial(1, [0.2, 0.6, 0.2], size=300) * 3, 1, axis=0)
    noisy = rng.multinomial(3, [0.3, 0.4, 0.3], size=300)
    counts = np.stack([agreeing, noisy], axis=1).astype(float)

    table = agreement_by_dimension(counts, ["clear", "noisy"], resamples=100, seed=1)

    clear, noisy_row = table["clear"], table["noisy"]
    assert clear["alpha"] == pytest.approx(1.0) and clear["ac1"] == pytest.approx(1.0)
    assert clear["majority_share"] == pytest.approx(1.0)
    assert clear["items"] == 300
    assert noisy_row["ac1"] < 0.3
    for name in ("alpha", "ac1", "ac2", "majority_share"):
        low, high = noisy_row[f"{name}_ci"]
        assert low <= noisy_row[name] <= high
        assert high - low < 0.3
    assert clear["majority_share_ci"] == [1.0, 1.0]
    assert agreement_by_dimension(counts, ["clear", "noisy"], resamples=100, seed=1) == table
    other_seed = agreement_by_dimension(counts, ["clear", "noisy"], resamples=100, seed=2)
    assert other_seed["noisy"]["ac1_ci"] != noisy_row["ac1_ci"]


def test_table_for_no_items_is_all_none():
    table = agreement_by_dimension(np.zeros((0, 1, 3)), ["power"])
    assert table["power"]["alpha"] is None and table["power"]["ac1_ci"] is None
    assert table["power"]["items"] == 0


def test_pair_agreement_and_distribution():
    result = pair_agreement([0, 0, 1, -1], [0, 0, 1, 1])
    assert result["items"] == 4 and result["share_equal"] == 0.75
    assert result["ac1"] is not None and result["ac2"] > result["ac1"] - 1
    assert pair_agreement([], [])["share_equal"] is None
    assert distribution([1, 2, 1]) == {"-1": 0.25, "0": 0.5, "1": 0.25}
    assert distribution([0, 0, 0]) == {"-1": None, "0": None, "1": None}


def test_pca_separates_two_groups_on_the_first_axis():
    vectors = np.array([[1, 0, 0], [0.9, 0, 0.1], [-1, 0, 0], [-0.9, 0.1, 0]])
    coordinates, explained = pca_2d(vectors)
    assert coordinates.shape == (4, 2)
    assert np.sign(coordinates[0, 0]) == np.sign(coordinates[1, 0]) != np.sign(coordinates[2, 0])
    assert explained[0] > 0.9
    assert pca_2d(np.zeros((1, 3)))[0].shape == (1, 2)


def test_grouped_bootstrap_for_many_items_gives_the_same_spread_as_resampling_items(monkeypatch):
    import annotation.agreement as agreement

    rng = np.random.default_rng(11)
    counts = rng.multinomial(3, [0.15, 0.7, 0.15], size=(6000, 1)).astype(float)
    grouped = agreement.agreement_by_dimension(counts, ["d"], resamples=200, seed=3)["d"]
    monkeypatch.setattr(agreement, "BOOTSTRAP_MAX_UNITS", 10**9)
    by_item = agreement.agreement_by_dimension(counts, ["d"], resamples=200, seed=3)["d"]

    for name in ("alpha", "ac1", "ac2"):
        width_grouped = grouped[f"{name}_ci"][1] - grouped[f"{name}_ci"][0]
        width_items = by_item[f"{name}_ci"][1] - by_item[f"{name}_ci"][0]
        assert width_grouped == pytest.approx(width_items, rel=0.3)
        assert grouped[f"{name}_ci"][0] <= grouped[name] <= grouped[f"{name}_ci"][1]
