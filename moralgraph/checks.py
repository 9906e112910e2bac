"""System checks for the moral graph's settings."""

from django.core.checks import Error, register

from core.checks import number_setting_errors
from moralgraph import graph


@register()
def check_min_votes(app_configs, **kwargs) -> list[Error]:
    """Report a ``MORALGRAPH_MIN_VOTES`` that is not a whole number of at least 1."""
    return number_setting_errors(
        "MORALGRAPH_MIN_VOTES", default=2, whole=True, at_least=1, check_id="moralgraph.E001"
    )


@register()
def check_inline_max_votes(app_configs, **kwargs) -> list[Error]:
    """Report a ``MORALGRAPH_INLINE_MAX_VOTES`` that is not a whole number of at least 0."""
    return number_setting_errors(
        "MORALGRAPH_INLINE_MAX_VOTES",
        default=5000,
        whole=True,
        at_least=0,
        check_id="moralgraph.E002",
    )


@register()
def check_clear_winner(app_configs, **kwargs) -> list[Error]:
    """Report a ``MORALGRAPH_CLEAR_WINNER`` share that is not above 0 and at most 1."""
    return number_setting_errors(
        "MORALGRAPH_CLEAR_WINNER",
        default=graph.CLEAR_WINNER_SHARE,
        above=0,
        at_most=1,
        check_id="moralgraph.E003",
    )
