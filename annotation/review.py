"""Review: the queue of items whose annotators disagree, and the reviewer's final labels.

An item enters the queue once it is complete (``overlap`` counted annotations) and on some
dimension fewer than ``threshold`` of its annotators gave the majority label. A reviewer's
``Adjudication`` takes it out of the queue and becomes the label the export uses.
"""

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.agreement import LABELS, majority_labels
from annotation.models import Adjudication, Item, Prelabel, Project
from annotation.selectors import dashboard_version, item_label_counts
from core.models import User

DEFAULT_REVIEW_THRESHOLD = 0.6


def review_threshold() -> float:
    """Return the agreement under which a complete item goes to review (a setting)."""
    return float(getattr(settings, "ANNOTATION_REVIEW_THRESHOLD", DEFAULT_REVIEW_THRESHOLD))


def review_queue(*, project: Project, threshold: float | None = None) -> list[dict]:
    """Return the items waiting for review, least agreement first.

    Each entry: ``{"item_id", "agreement" (the lowest share agreeing with the majority over
    the dimensions), "disputed" [dimension keys under the threshold]}``. Adjudicated items are
    not in it. The disputed items are cached until the project's labels change, so paging
    through the queue of a large project costs two small queries.
    """
    threshold = review_threshold() if threshold is None else threshold
    key = f"annotation:review:{project.pk}:{threshold}"
    version = dashboard_version(project=project)
    cached = cache.get(key)
    if cached is not None and cached[0] == version:
        disputed = cached[1]
    else:
        disputed = _disputed_items(project=project, threshold=threshold)
        cache.set(key, (version, disputed), timeout=24 * 3600)
    adjudicated = set(
        Adjudication.objects.filter(item__project=project).values_list("item_id", flat=True)
    )
    return [entry for entry in disputed if entry["item_id"] not in adjudicated]


def review_queue_shown(*, queue: list[dict], limit: int) -> list[dict]:
    """Return the first ``limit`` entries of a ``review_queue``, each with its ``item``."""
    shown = queue[:limit]
    items = Item.objects.in_bulk([entry["item_id"] for entry in shown])
    return [{**entry, "item": items[entry["item_id"]]} for entry in shown]


def _disputed_items(*, project: Project, threshold: float) -> list[dict]:
    keys = project.scheme.dimension_keys()
    item_ids, counts = item_label_counts(project=project, dimension_keys=keys)
    if not len(item_ids):
        return []
    raters = counts.sum(axis=-1)  # (items, dims)
    majority = np.take_along_axis(counts, majority_labels(counts)[..., None], axis=-1)[..., 0]
    shares = np.where(raters > 0, majority / np.maximum(raters, 1), 1.0)
    complete = raters.max(axis=-1) >= project.overlap
    lowest = shares.min(axis=-1)
    candidates = np.flatnonzero(complete & (lowest < threshold))
    queue = [
        {
            "item_id": int(item_ids[row]),
            "agreement": round(float(lowest[row]), 4),
            "disputed": [key for d, key in enumerate(keys) if shares[row, d] < threshold],
        }
        for row in candidates
    ]
    return sorted(queue, key=lambda entry: (entry["agreement"], entry["item_id"]))


def item_review(*, item: Item) -> dict:
    """Return what a reviewer sees of one item: every counted annotation under its pseudonym,
    the pre-label with its reasons, the majority and the current adjudication."""
    from annotation.aggregation import aggregate

    keys = item.project.scheme.dimension_keys()
    annotations = list(
        item.annotations.filter(excluded=False)
        .order_by("created", "pk")
        .values("annotator__pseudonym", "labels", "saw_prelabel", "seconds", "created")
    )
    majority, agreement = aggregate([a["labels"] for a in annotations], keys)
    prelabel = Prelabel.objects.filter(item=item).first()
    adjudication = Adjudication.objects.filter(item=item).select_related("reviewer").first()
    return {
        "keys": keys,
        "annotations": annotations,
        "majority": majority,
        "agreement": agreement,
        "prelabel": prelabel,
        "adjudication": adjudication,
    }


def adjudication_save(
    *, item: Item, labels: object, reviewer: User | None, note: str = ""
) -> Adjudication:
    """Set the final labels of ``item``; saving the same labels again changes nothing else.

    ``labels`` must give every dimension of the project's scheme a label in {-1, 0, 1};
    raise ``ValidationError`` naming each bad field (``labels.power``) otherwise.
    """
    keys = item.project.scheme.dimension_keys()
    if not isinstance(labels, dict):
        raise ValidationError({"labels": "must be an object {dimension key: -1 | 0 | 1}"})
    errors: dict[str, str] = {}
    clean: dict[str, int] = {}
    for key in keys:
        value = labels.get(key)
        if value is None:
            errors[f"labels.{key}"] = "missing: every dimension needs a final label"
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if (
            number not in LABELS
            or isinstance(value, bool)
            or (isinstance(value, float) and value != number)
        ):
            errors[f"labels.{key}"] = f"{value!r} is not one of -1, 0, 1"
            continue
        clean[key] = number
    for key in labels:
        if key not in keys:
            errors[f"labels.{key}"] = "not a dimension of this project's scheme"
    if len(note) > 2000:
        errors["note"] = "at most 2000 characters"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        adjudication, _ = Adjudication.objects.update_or_create(
            item=item, defaults={"labels": clean, "reviewer": reviewer, "note": note}
        )
    return adjudication
