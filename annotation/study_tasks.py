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


def _clean_config(config: dict) -> dict:
    from django.core.exceptions import ValidationError

    from annotation.models import Project

    project = config.get("project")
    if isinstance(project, str) and project.strip().isdigit():
        project = int(project.strip())
    if isinstance(project, bool) or not isinstance(project, int):
        raise ValidationError({"project": "choose the project whose items are labelled"})
    if not Project.objects.filter(pk=project).exists():
        raise ValidationError({"project": f"there is no project with id {project}"})
    return {**config, "project": project}


def _form_fields() -> dict:
    from django import forms

    from annotation.models import Project

    projects = Project.objects.order_by("name").values_list("pk", "name", "quota_per_worker")
    choices = [("", "— choose a project —")] + [
        (pk, f"{name} ({quota} items each)" if quota else f"{name} (every item left)")
        for pk, name, quota in projects
    ]
    return {
        "project": forms.TypedChoiceField(
            label="Project to label",
            choices=choices,
            coerce=int,
            required=False,
            help_text="Items per participant: the project's own quota.",
        )
    }


def _unavailable(task: StudyTask) -> str | None:
    from annotation.models import Project

    if not Project.objects.filter(pk=task_project_id(task)).exists():
        return "The items of this labelling task were removed."
    return None


register_task_type(
    TaskType(
        kind=KIND,
        label="Label AI answers on values",
        url=_url,
        is_done=_is_done,
        clean_config=_clean_config,
        unavailable=_unavailable,
        is_at=lambda task, project_id: task_project_id(task) == project_id,
        form_fields=_form_fields,
        default_order=3,
        preview_url=lambda task: reverse("annotation:work_preview", args=[task_project_id(task)]),
    )
)
