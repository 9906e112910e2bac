"""Each app checks its own settings at startup: a bad value is an error naming the setting."""

import pytest
from django.core.checks import run_checks

BAD_VALUES = [
    ("ANNOTATION_REVIEW_THRESHOLD", 1.5, "annotation.E001"),
    ("ANNOTATION_PRELABEL_CONCURRENCY", 0, "annotation.E002"),
    ("ELICITATION_DEDUP_THRESHOLD", 0, "elicitation.E001"),
    ("VALUELAB_TURNS_PER_WORKER", "many", "elicitation.E002"),
    ("MORALGRAPH_MIN_VOTES", 0, "moralgraph.E001"),
    ("MORALGRAPH_INLINE_MAX_VOTES", -1, "moralgraph.E002"),
    ("MORALGRAPH_CLEAR_WINNER", 2, "moralgraph.E003"),
    ("TRAINING_PVQ40_ITEMS", 40, "training.E001"),
]


@pytest.mark.parametrize(("name", "value", "check_id"), BAD_VALUES)
def test_a_bad_setting_is_reported_by_name(settings, name, value, check_id):
    setattr(settings, name, value)
    errors = [error for error in run_checks() if error.id == check_id]
    assert len(errors) == 1 and errors[0].msg.startswith(f"{name} must be")
    assert repr(value) in errors[0].msg


def test_the_shipped_settings_pass_every_app_check(settings):
    settings.ANNOTATION_PRELABEL_CONCURRENCY = None  # unset: as many threads as LLM slots
    settings.MORALGRAPH_CLEAR_WINNER = 0.5
    ids = {error.id for error in run_checks()}
    assert not {check_id for _, _, check_id in BAD_VALUES} & ids
