"""System checks of evaluation's settings."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.compatibility)
def check_evaluation_settings(app_configs, **kwargs):
    value = getattr(settings, "VALUELAB_EVALUATION_MAX_CALLS", None)
    if value is None:
        return []
    if isinstance(value, int) and value > 0:
        return []
    return [
        Warning(
            f"VALUELAB_EVALUATION_MAX_CALLS is {value!r}; runs then have no default cost cap.",
            hint="Set it to a whole number of LLM calls (at least 1), or leave it unset.",
            id="evaluation.W001",
        )
    ]
