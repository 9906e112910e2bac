"""Reads of projects: the list with counts, a scheme's dimensions, the labels that count."""

from django.db.models import Count, QuerySet

from annotation.models import Annotation, Item, Project
from core.models import ValueDimension


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


def counted_annotations(*, project: Project) -> QuerySet[Annotation]:
    """Return the annotations that count: not excluded, on items to label (gold included)."""
    return Annotation.objects.filter(item__project=project, item__kind="task", excluded=False)
