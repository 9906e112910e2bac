"""What every training workflow shares: error text, the progress callback, folders, model names."""

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from training.basemodels import ModelNotFound, resolve

ProgressCallback = Callable[[int, int, str, dict], None]


def error_text(error: ValidationError) -> str:
    """Return a ValidationError's messages as one line of text, for a page, a job or a command."""
    return " ".join(error.messages)


def training_dir(*parts: str) -> Path:
    """Return (creating it) a folder under ``VAR_DIR`` for training's files."""
    folder = Path(settings.VAR_DIR).joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def policy_check(policy: str) -> str:
    """Return the folder (or reachable hub name) ``policy`` names: an alias of a shipped model
    (``minilm``, ``smollm2-135m``), a local model folder, or a hub model cached here or
    reachable now. Refuse anything else at once, listing the aliases."""
    try:
        return resolve(policy)
    except ModelNotFound as error:
        raise ValidationError({"policy": str(error)}) from None
