"""Profiles and alignment computed from scores (no database)."""

import pytest

from evaluation import pools, profiles

DIMS = ["security", "power"]


def score(security: float, power: float) -> dict:
    def label(x):
        return 1 if x > 0.33 else -1 if x < -0.33 else 0

    return {
        "expected": {"security": security, "power": power},
        "labels": {"security": label(security), "power": label(power)},
    }


def test_profile_gives_mean_interval_and_shares_per_value():
    scores = [score(0.8, -0.5)] * 6 + [score(0.0, 0.0)] * 4
    values = profiles.profile(scores, DIMS)
    assert values["security"]["mean"] == pytest.approx(0.48)
    assert values["security"]["upholds"] == 0.6
    assert values["security"]["violates"] == 0.0
    assert values["power"]["violates"] == 0.6
    low, high = values["security"]["ci"]
    assert low < 0.48 < high
    assert values["security"]["n"] == 10


def test_interval_narrows_with_more_responses():
    few = profiles.profile([score(0.9, 0), score(-0.9, 0)] * 5, DIMS)
    many = profiles.profile([score(0.9, 0), score(-0.9, 0)] * 200, DIMS)

    def width(values):
        return values["security"]["ci"][1] - values["security"]["ci"][0]

    assert width(many) < width(few) / 3


def test_identical_responses_have_a_zero_width_interval():
    values = profiles.profile([score(0.5, 0.1)] * 20, DIMS)
    assert values["security"]["ci"] == [0.5, 0.5]


def test_no_scores_is_refused():
    with pytest.raises(profiles.ProfileError):
        profiles.profile([], DIMS)


def test_weighted_alignment_is_the_value_compass_form():
    means = {"security": 0.5, "power": -0.5}
    assert profiles.weighted_alignment(means, {"security": 1, "power": -1}) == pytest.approx(0.5)
    assert profiles.weighted_alignment(means, {"security": 1, "power": 0}) == pytest.approx(0.5)
    assert profiles.weighted_alignment(means, {"security": -1, "power": 1}) == pytest.approx(-0.5)
    assert profiles.weighted_alignment(means, {"security": 0, "power": 0}) == 0.0


def test_distance_is_the_mean_per_response_distance_the_align_job_reports():
    scores = [score(1.0, 0.0), score(0.0, 0.0)]
    result = profiles.alignment(
        scores, profiles.profile(scores, DIMS), {"security": 1, "power": 0}, DIMS
    )
    assert result["distance"] == pytest.approx((0 + 1) / 2)
    assert result["weighted"] == pytest.approx(0.5)


def test_alignment_carries_its_intervals_and_sample_size():
    scores = [score(1.0, 0.0)] * 6 + [score(0.0, 0.0)] * 4
    target = {"security": 1, "power": 0}
    result = profiles.alignment(scores, profiles.profile(scores, DIMS), target, DIMS)

    assert result["n"] == 10
    assert result["distance"] == pytest.approx(0.4)  # 4 of 10 answers are 1 away
    low, high = result["distance_ci"]
    assert 0 <= low < 0.4 < high <= 1
    assert result["weighted"] == pytest.approx(0.6)
    low, high = result["weighted_ci"]
    assert 0 <= low < 0.6 < high <= 1
    same = [score(1.0, 0.0)] * 10  # no spread between answers: no uncertainty from resampling
    steady = profiles.alignment(same, profiles.profile(same, DIMS), target, DIMS)
    assert steady["distance_ci"] == [0.0, 0.0] and steady["weighted_ci"] == [1.0, 1.0]


def test_disagreement_is_the_variance_across_subjects():
    rows = [{"security": 1.0, "power": 0.0}, {"security": -1.0, "power": 0.0}]
    assert profiles.disagreement(rows, "security") == pytest.approx(1.0)
    assert profiles.disagreement(rows, None) == pytest.approx(0.5)
    assert profiles.disagreement(rows[:1], "security") == 0.0


def test_pool_file_errors_name_each_line():
    text = '{"prompt": "a"}\nnot json\n{"prompt": ""}\n{"prompt": "a"}\n{"prompt": "b", "id": 7}\n'
    parsed = pools.parse_pool(text)
    assert [line.prompt for line in parsed.lines] == ["a", "b"]
    assert parsed.lines[1].key == "7"
    assert parsed.errors[0].startswith("line 2: line: not valid JSON")
    assert parsed.errors[1] == "line 3: prompt: missing or empty"
    assert parsed.errors[2] == "line 4: id: repeats line 1"


def test_a_prompt_with_a_nul_character_is_refused_by_line():
    parsed = pools.parse_pool('{"prompt": "a"}\n{"prompt": "b\\u0000c"}\n')
    assert [line.prompt for line in parsed.lines] == ["a"]
    assert parsed.errors == ["line 2: prompt: contains a NUL character"]


def test_pool_csv_needs_a_prompt_column_and_reads_values():
    parsed = pools.parse_pool(
        "id,prompt,value\n1,Should I lock it?,Security\n2,,power\n",
        filename="p.csv",
        dimensions=["security", "power"],
    )
    assert [(line.key, line.value) for line in parsed.lines] == [("1", "security")]
    assert parsed.errors == ["line 3: prompt: missing or empty"]
    with pytest.raises(pools.PoolFileError, match="prompt"):
        pools.parse_pool("id,text\n1,hi\n", filename="p.csv")


def test_pool_value_outside_the_scheme_is_an_error():
    parsed = pools.parse_pool('{"prompt": "x", "value": "karma"}\n', dimensions=["security"])
    assert parsed.errors == ["line 1: value: 'karma' is not a value of the scheme"]
    assert parsed.lines == []
