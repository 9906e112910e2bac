"""What the researcher API's views share: the project named in the address."""

from django.shortcuts import get_object_or_404

from annotation.models import Project


def project_or_404(project_id: int) -> Project:
    """Return the project with its scheme and study; raise ``Http404`` when there is none."""
    return get_object_or_404(Project.objects.select_related("scheme", "study"), pk=project_id)
