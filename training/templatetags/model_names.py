"""A base model as a researcher names it: its alias, or its folder's name, never a server path."""

from functools import lru_cache
from pathlib import PurePath

from django import template

from core.templatetags.job_results import _looks_like_path

register = template.Library()


@lru_cache(maxsize=1)
def _alias_folders() -> dict[str, str]:
    from training.basemodels import ALIASES

    folders = {}
    for alias, (_what, find) in ALIASES.items():
        try:
            folder = find()
        except Exception:  # a missing package: the alias names nothing here
            folder = None
        if folder is not None:
            folders[str(folder)] = alias
    return folders


@register.filter
def model_name(value: object) -> str:
    """``/…/var/models/smollm2-135m-instruct`` → ``smollm2-135m``; another folder → its name."""
    text = str(value or "")
    alias = _alias_folders().get(text.rstrip("/"))
    if alias:
        return alias
    if _looks_like_path(text):
        return PurePath(text.replace("\\", "/")).name or text
    return text
