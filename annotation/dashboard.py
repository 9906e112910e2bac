"""Researcher pages of the annotation app: pre-labelling, the dashboard, and the review queue.

Every view here is for researchers only; fragments check permissions exactly as their pages do.
"""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from annotation.models import Item, Project
from annotation.prelabel import ACTIVE, prelabel_jobs, prelabel_start, prelabel_status
from core.roles import RESEARCHER, role_required

FAILED_SHOWN = 5


def _get_project_for_user(request: HttpRequest, slug: str) -> Project:
    # Every researcher sees every project today (as on the project page).
    return get_object_or_404(Project.objects.select_related("scheme", "study"), slug=slug)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def prelabel_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: the project's pre-label counts and job progress; POST starts (or retries)."""
    project = _get_project_for_user(request, slug)
    error = ""
    if request.method == "POST":
        try:
            prelabel_start(
                project=project,
                user=request.user,
                only_failed=request.POST.get("only_failed") == "1",
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if not request.htmx and not error:
            return redirect("annotation:project", slug=project.slug)
    job = prelabel_jobs(project=project).first()
    failed_items = (
        Item.objects.filter(project=project, prelabel__isnull=True)
        .exclude(prelabel_error="")
        .order_by("pk")
        .values("external_id", "prelabel_error", "prelabel_attempts")[:FAILED_SHOWN]
    )
    context = {
        "project": project,
        "status": prelabel_status(project=project),
        "job": job,
        "job_active": job is not None and job.status in ACTIVE,
        "failed_items": failed_items,
        "error": error,
    }
    return render(
        request, "annotation/dashboard_prelabel.html", context, status=400 if error else 200
    )
