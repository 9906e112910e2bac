"""Aggregating annotators' labels: majority per dimension, ties to 0, agreement (no database)."""

import pytest

from annotation.aggregation import aggregate, majority_label


@pytest.mark.parametrize(
    "labels, expected",
    [
        ([1, 1, -1], 1),
        ([-1, -1, 0], -1),
        ([1, 0, -1], 0),  # three-way tie
        ([1, 1, -1, -1], 0),  # two-way tie
        ([1, 1, 0, -1], 1),  # most frequent wins without an absolute majority
        ([1], 1),
        ([], 0),
    ],
)
def test_the_most_frequent_label_wins_and_a_tie_gives_zero(labels, expected):
    assert majority_label(labels) == expected


def test_agreement_is_the_share_of_annotators_who_gave_the_aggregate_label():
    annotations = [
        {"power": 1, "security": 0},
        {"power": 1, "security": 1},
        {"power": -1, "security": -1},
    ]

    labels, agreement = aggregate(annotations, ["power", "security"])

    assert labels == {"power": 1, "security": 0}
    assert agreement == {"power": 0.6667, "security": 0.3333}


def test_with_no_annotations_every_label_is_zero_with_zero_agreement():
    labels, agreement = aggregate([], ["power", "security"])

    assert labels == {"power": 0, "security": 0}
    assert agreement == {"power": 0.0, "security": 0.0}
