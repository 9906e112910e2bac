"""Reads of LLM pre-labelling: the items still to pre-label, the project's counts, its jobs."""

from annotation.models import Item, Prelabel, Project
from core.models import Job

KIND = "annotation.prelabel"  # the pre-label job's kind (annotation.jobs registers it)
ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.RETRYING)


def items_pending_prelabel(*, project: Project, only_failed: bool = False) -> list[int]:
    """Return the ids of the project's items with no pre-label, in id order.

    By default items whose last attempt failed are left out (``only_failed`` picks just those),
    so a run never spends calls again on an item the model could not label.
    """
    items = Item.objects.filter(project=project, prelabel__isnull=True)
    items = items.exclude(prelabel_error="") if only_failed else items.filter(prelabel_error="")
    return list(items.order_by("pk").values_list("pk", flat=True))


def prelabel_status(*, project: Project) -> dict:
    """Return how many of the project's items are pre-labelled, failed, or still to do."""
    items = Item.objects.filter(project=project)
    total = items.count()
    labelled = Prelabel.objects.filter(item__project=project).count()
    failed = items.filter(prelabel__isnull=True).exclude(prelabel_error="").count()
    return {
        "items": total,
        "labelled": labelled,
        "failed": failed,
        "pending": total - labelled - failed,
    }


def prelabel_jobs(*, project: Project):
    """Return the project's pre-label jobs, newest first."""
    return Job.objects.filter(kind=KIND, params__project_id=project.pk).order_by("-created")
