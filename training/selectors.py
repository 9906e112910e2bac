"""Reads of training: registered models, and evaluators loaded once per process."""

import threading
from functools import lru_cache

from django.db.models import QuerySet

from training.models import ModelArtifact

_load_lock = threading.Lock()


def artifacts_list(*, kind: str | None = None) -> QuerySet[ModelArtifact]:
    """Return registered models, newest first (of ``kind`` if given)."""
    artifacts = ModelArtifact.objects.select_related("job")
    return artifacts.filter(kind=kind) if kind else artifacts


@lru_cache(maxsize=4)
def _loaded(path: str):
    from training import evaluator

    return evaluator.load(path)


def evaluator_loaded(artifact: ModelArtifact):
    """Return the evaluator of ``artifact`` loaded in this process (kept for later calls)."""
    with _load_lock:
        return _loaded(artifact.path)
