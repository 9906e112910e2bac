"""Reads of training: registered models, and evaluators loaded once per process."""

import threading
from functools import lru_cache

from django.db.models import QuerySet

from training.models import ModelArtifact, Target

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


def targets_for_user(*, user) -> QuerySet[Target]:
    """Return the targets ``user`` may see: researchers every one, others only their own."""
    from core.roles import RESEARCHER, user_has_role

    targets = Target.objects.select_related("owner")
    return targets if user_has_role(user, RESEARCHER) else targets.filter(owner=user)


def individual_target(*, user, scheme: str = "schwartz10") -> Target | None:
    """Return ``user``'s own PVQ-40 profile, or None if they have not answered it."""
    return Target.objects.filter(owner=user, scheme=scheme, kind=Target.Kind.INDIVIDUAL).first()
