"""The numpy clustering under de-duplication, and the adjusted Rand index the bench reports."""

import numpy as np
import pytest

from elicitation.clustering import adjusted_rand_index, agglomerate, medoid


def test_ari_matches_the_hand_computed_example():
    # Contingency: {0:[2,0,0], 1:[0,1,1]}; index 1, expected 2*1/6, max (2+1)/2 → (2/3)/(7/6).
    assert adjusted_rand_index([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(4 / 7)


def test_ari_is_one_for_the_same_clustering_under_other_names_and_negative_when_crossed():
    assert adjusted_rand_index(["a", "a", "b", "c"], [7, 7, 3, 9]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    assert adjusted_rand_index([0, 0, 0, 0], [0, 1, 2, 3]) == pytest.approx(0.0)


def test_ari_refuses_labellings_of_different_lengths():
    with pytest.raises(ValueError, match="3 true labels but 2"):
        adjusted_rand_index([0, 1, 1], [0, 1])


def _vectors(*angles_deg: float) -> np.ndarray:
    angles = np.radians(angles_deg)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_close_items_cluster_and_far_ones_stay_alone():
    vectors = _vectors(0, 5, 10, 90, 95, 180)
    groups = agglomerate(vectors, groups=[[i] for i in range(6)], threshold=0.9)
    assert groups == [[0, 1, 2], [3, 4], [5]]


def test_two_fixed_clusters_never_merge_but_a_new_item_joins_one():
    vectors = _vectors(0, 2, 4)
    groups = agglomerate(vectors, groups=[[0], [1], [2]], threshold=0.5, fixed=[True, True, False])
    assert groups == [[0], [1, 2]]


def test_a_refused_merge_keeps_the_pair_apart():
    vectors = _vectors(0, 3, 60)
    asked = []

    def may_merge(first, second, link):
        asked.append((sorted(first), sorted(second), round(link, 3)))
        return False

    groups = agglomerate(vectors, groups=[[0], [1], [2]], threshold=0.9, may_merge=may_merge)
    assert groups == [[0], [1], [2]]
    assert asked == [([0], [1], round(float(np.cos(np.radians(3))), 3))]


def test_medoid_is_the_member_closest_to_the_others():
    vectors = _vectors(0, 10, 20)
    assert medoid([0, 1, 2], vectors) == 1
