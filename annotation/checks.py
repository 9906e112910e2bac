"""System checks for annotation's settings."""

from django.core.checks import Error, register

from annotation.review import DEFAULT_REVIEW_THRESHOLD
from core.checks import number_setting_errors


@register()
def check_review_threshold(app_configs, **kwargs) -> list[Error]:
    """Report an ``ANNOTATION_REVIEW_THRESHOLD`` (an agreement share) outside 0 to 1."""
    return number_setting_errors(
        "ANNOTATION_REVIEW_THRESHOLD",
        default=DEFAULT_REVIEW_THRESHOLD,
        at_least=0,
        at_most=1,
        check_id="annotation.E001",
    )


@register()
def check_prelabel_concurrency(app_configs, **kwargs) -> list[Error]:
    """Report an ``ANNOTATION_PRELABEL_CONCURRENCY`` that is set but not a whole number >= 1."""
    return number_setting_errors(
        "ANNOTATION_PRELABEL_CONCURRENCY",
        default=None,
        whole=True,
        at_least=1,
        check_id="annotation.E002",
    )
