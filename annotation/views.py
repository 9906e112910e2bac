"""Pages of the annotation app: the researcher's project page with its import form."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from annotation.models import Project
from annotation.selectors import project_dimensions, project_item_counts
from annotation.services import ItemImportRejected, item_import
from core.roles import RESEARCHER, role_required


def _get_project_for_user(request: HttpRequest, slug: str) -> Project:
    # Every researcher sees every project today; the one place to narrow that later.
    return get_object_or_404(Project.objects.select_related("scheme", "study"), slug=slug)


@role_required(RESEARCHER)
@require_http_methods(["GET", "POST"])
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """Researchers: a project, its scheme's dimensions, item counts, and the import form."""
    project = _get_project_for_user(request, slug)
    report, rejected, upload_error = None, False, ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            upload_error = "Choose a JSONL or CSV file to import."
        else:
            try:
                report = item_import(
                    project=project,
                    stream=upload.open("rb"),
                    filename=upload.name or "",
                    skip_invalid=request.POST.get("skip_invalid") == "on",
                ).as_dict()
            except ItemImportRejected as error:
                report, rejected = error.report.as_dict(), True
    context = {
        "project": project,
        "dimensions": project_dimensions(project=project),
        "counts": project_item_counts(project=project),
        "report": report,
        "rejected": rejected,
        "upload_error": upload_error,
    }
    status = 400 if rejected or upload_error else 200
    return render(request, "annotation/project.html", context, status=status)
