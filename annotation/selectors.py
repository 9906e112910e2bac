"""Reads of the annotation app: projects, their counts, and the streamed export."""

import json
from collections.abc import Iterator
from itertools import islice

from django.db.models import Count, QuerySet

from annotation.aggregation import aggregate
from annotation.models import Annotation, Item, Project, ValueDimension

EXPORT_CHUNK_SIZE = 2000


def projects_with_counts() -> QuerySet[Project]:
    """Return every project with its scheme and ``n_items`` annotated."""
    return Project.objects.select_related("scheme").annotate(n_items=Count("items"))


def project_dimensions(*, project: Project) -> QuerySet[ValueDimension]:
    """Return the dimensions of the project's scheme in scheme order."""
    return project.scheme.dimensions.order_by("position", "pk")


def project_item_counts(*, project: Project) -> dict[str, int]:
    """Return how many items the project has, how many carry reference labels, and are done."""
    complete = (
        Item.objects.filter(project=project)
        .annotate(n=Count("annotations"))
        .filter(n__gte=project.overlap)
    )
    return {
        "items": project.items.count(),
        "with_reference": project.items.filter(reference_labels__isnull=False).count(),
        "gold": project.items.filter(is_gold=True).count(),
        "complete": complete.count(),
        "annotations": Annotation.objects.filter(item__project=project).count(),
    }


def items_for_export(*, project: Project, complete_only: bool = False) -> QuerySet:
    """Return the project's items in id order as dicts, with their pre-label's fields.

    ``complete_only`` keeps items with at least ``overlap`` annotations.
    """
    items = Item.objects.filter(project=project).order_by("pk")
    if complete_only:
        items = items.annotate(n_annotations=Count("annotations")).filter(
            n_annotations__gte=project.overlap
        )
    return items.values(
        "pk",
        "external_id",
        "prompt",
        "response",
        "source",
        "reference_labels",
        "prelabel__labels",
        "prelabel__model",
        "prelabel__rationale",
    )


def annotations_by_item(*, item_ids: list[int]) -> dict[int, list[dict]]:
    """Return the annotations of the given items as dicts, grouped by item, oldest first."""
    grouped: dict[int, list[dict]] = {}
    rows = (
        # The range beside the list lets the planner pick the (item, annotator) index even
        # before the table has statistics (a fresh import, autovacuum behind).
        Annotation.objects.filter(
            item_id__in=item_ids, item_id__gte=min(item_ids), item_id__lte=max(item_ids)
        )
        .order_by("item_id", "created", "pk")
        .values_list(
            "item_id", "annotator__pseudonym", "labels", "saw_prelabel", "seconds", "created"
        )
    )
    for item_id, pseudonym, labels, saw_prelabel, seconds, created in rows:
        grouped.setdefault(item_id, []).append(
            {
                "annotator": pseudonym,
                "labels": labels,
                "saw_prelabel": saw_prelabel,
                "seconds": float(seconds),
                "created": created.isoformat(),
            }
        )
    return grouped


def project_export_lines(
    *, project: Project, complete_only: bool = False, chunk_size: int = EXPORT_CHUNK_SIZE
) -> Iterator[str]:
    """Yield the export of the project as JSON lines (contracts.md), each ending in a newline.

    Items are read ``chunk_size`` at a time and the annotations of each chunk fetched in one
    query, so memory stays flat however large the project. Rows are read as plain values, not
    model instances: building instances cost most of the time of an export.
    """
    keys = project.scheme.dimension_keys()
    rows = items_for_export(project=project, complete_only=complete_only).iterator(
        chunk_size=chunk_size
    )
    while chunk := list(islice(rows, chunk_size)):
        annotations = annotations_by_item(item_ids=[row["pk"] for row in chunk])
        for row in chunk:
            record = export_record(
                row,
                annotations.get(row["pk"], []),
                scheme_key=project.scheme.key,
                dimension_keys=keys,
            )
            yield json.dumps(record, ensure_ascii=False) + "\n"


def export_record(
    item: dict, annotations: list[dict], *, scheme_key: str, dimension_keys: list[str]
) -> dict:
    """Return one item's export record, keys in the order the contracts list them."""
    labels, agreement = aggregate([a["labels"] for a in annotations], dimension_keys)
    for annotation in annotations:
        annotation["labels"] = _in_order(annotation["labels"], dimension_keys)
    has_prelabel = item["prelabel__labels"] is not None
    return {
        "id": item["external_id"],
        "prompt": item["prompt"],
        "response": item["response"],
        "source": item["source"] or None,
        "scheme": scheme_key,
        "labels": labels,
        "vector": [labels[key] for key in dimension_keys],
        "n_annotations": len(annotations),
        "agreement": agreement,
        "prelabel": (
            {
                "labels": _in_order(item["prelabel__labels"], dimension_keys),
                "model": item["prelabel__model"],
                "rationale": item["prelabel__rationale"],
            }
            if has_prelabel
            else None
        ),
        "reference": (
            _in_order(item["reference_labels"], dimension_keys)
            if item["reference_labels"]
            else None
        ),
        "annotations": annotations,
    }


def _in_order(labels: dict, dimension_keys: list[str]) -> dict:
    # Scheme order in every record keeps the columns a dataset loader infers the same.
    ordered = {key: labels[key] for key in dimension_keys if key in labels}
    if len(ordered) < len(labels):
        ordered.update((key, value) for key, value in labels.items() if key not in ordered)
    return ordered
