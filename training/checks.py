"""System checks for training's settings."""

import os

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_pvq40_items(app_configs, **kwargs) -> list[Error]:
    """Report a ``TRAINING_PVQ40_ITEMS`` that is set but is not a path.

    A path to a file that is not there is fine: the PVQ-40 task is then not offered.
    """
    value = getattr(settings, "TRAINING_PVQ40_ITEMS", None)
    if value is None or isinstance(value, str | os.PathLike):
        return []
    return [
        Error(
            f"TRAINING_PVQ40_ITEMS must be the path of the PVQ-40 items file, not {value!r}.",
            id="training.E001",
        )
    ]
