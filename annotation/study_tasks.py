"""The study task type "annotation.label": label items of an annotation project.

A study task's ``config``: ``{"project": project id}``. The task links to the labelling page and
is done once the participant labelled the project's quota (``quota_per_worker``), or when
nothing was left for them to label.
"""

from django.urls import reverse

from core.models import Participation, StudyTask
from core.study_tasks import TaskType, register_task_type

KIND = "annotation.label"


def task_project_id(task: StudyTask) -> int | None:
    """Return the id of the project a labelling task is about, or None."""
    project = (task.config or {}).get("project")
    return project if isinstance(project, int) and not isinstance(project, bool) else None


def _url(participation: Participation, task: StudyTask) -> str:
    project_id = task_project_id(task)
    if project_id is None:
        return reverse("core:study", args=[participation.study.slug])
    return reverse("annotation:work", args=[project_id])


def _is_done(participation: Participation, task: StudyTask) -> bool:
    from annotation.models import Project, WorkerStatus

    project = Project.objects.filter(pk=task_project_id(task)).first()
    if project is None:
        return False
    status = WorkerStatus.objects.filter(project=project, worker=participation.user).first()
    if status is None or not status.may_label:
        return False
    quota_met = bool(project.quota_per_worker) and status.n_done >= project.quota_per_worker
    return quota_met or status.finished is not None


register_task_type(
    TaskType(kind=KIND, label="Label AI answers on values", url=_url, is_done=_is_done)
)
