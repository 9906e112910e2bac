"""System checks for the moral graph's settings."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_min_votes(app_configs, **kwargs) -> list[Error]:
    """Report a ``MORALGRAPH_MIN_VOTES`` that is not a whole number of at least 1."""
    value = getattr(settings, "MORALGRAPH_MIN_VOTES", 2)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return [
            Error(
                f"MORALGRAPH_MIN_VOTES must be a whole number of at least 1, not {value!r}.",
                id="moralgraph.E001",
            )
        ]
    return []


@register()
def check_inline_max_votes(app_configs, **kwargs) -> list[Error]:
    """Report a ``MORALGRAPH_INLINE_MAX_VOTES`` that is not a whole number of at least 0."""
    value = getattr(settings, "MORALGRAPH_INLINE_MAX_VOTES", 5000)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [
            Error(
                f"MORALGRAPH_INLINE_MAX_VOTES must be a whole number of at least 0, not {value!r}.",
                id="moralgraph.E002",
            )
        ]
    return []
