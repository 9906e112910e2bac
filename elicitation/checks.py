"""System checks for elicitation's settings."""

from django.core.checks import Error, register

from core.checks import number_setting_errors
from elicitation.dedup import DEFAULT_THRESHOLD
from elicitation.streaming import DEFAULT_TURNS_PER_WORKER


@register()
def check_dedup_threshold(app_configs, **kwargs) -> list[Error]:
    """Report an ``ELICITATION_DEDUP_THRESHOLD`` (a cosine similarity) not above 0 and at most 1."""
    return number_setting_errors(
        "ELICITATION_DEDUP_THRESHOLD",
        default=DEFAULT_THRESHOLD,
        above=0,
        at_most=1,
        check_id="elicitation.E001",
    )


@register()
def check_turns_per_worker(app_configs, **kwargs) -> list[Error]:
    """Report a ``VALUELAB_TURNS_PER_WORKER`` that is not a whole number of at least 1."""
    return number_setting_errors(
        "VALUELAB_TURNS_PER_WORKER",
        default=DEFAULT_TURNS_PER_WORKER,
        whole=True,
        at_least=1,
        check_id="elicitation.E002",
    )
