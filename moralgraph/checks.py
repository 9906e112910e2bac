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
