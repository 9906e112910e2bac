"""The study task type "annotation.label": label items of an annotation project.

A study task's ``config``: ``{"project": project id, "items_per_participant": n}`` (the second
optional: without it, the project's own ``quota_per_worker``). The task links to the labelling
page and is done once the participant labelled their quota (``quota.worker_quota``), or
when nothing was left for them to label.
"""

from django.urls import reverse

from core.models import Participation, StudyTask
from core.study_tasks import TaskType, positive_int, register_task_type

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
    from annotation.quota import quota_reached, worker_quota

    project = Project.objects.filter(pk=task_project_id(task)).first()
    if project is None:
        return False
    status = WorkerStatus.objects.filter(project=project, worker=participation.user).first()
    if status is None or not status.may_label:
        return False
    quota = worker_quota(project=project, status=status)
    return quota_reached(quota=quota, n_done=status.n_done) or status.finished is not None


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
    cleaned = {**config, "project": project}
    items = positive_int(config, "items_per_participant")
    if items is None:
        cleaned.pop("items_per_participant", None)  # the project's own quota
    else:
        cleaned["items_per_participant"] = items
    return cleaned


def config_items_per_participant(config: dict | None) -> int | None:
    """Return the items each participant labels under a task's ``config``, when it sets a valid
    number (a whole number above 0), else None: the project's own quota."""
    value = (config or {}).get("items_per_participant")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def task_items_per_participant(task: StudyTask) -> int | None:
    """Return the items each participant labels in this task, when the task sets it."""
    return config_items_per_participant(task.config)


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
        ),
        "items_per_participant": forms.IntegerField(
            label="Items per participant",
            min_value=1,
            max_value=100_000,
            required=False,
            help_text="How many items each participant labels; empty: the project's own number "
            "(in brackets above).",
        ),
    }


def _unavailable(task: StudyTask) -> str | None:
    from annotation.models import Project

    if not Project.objects.filter(pk=task_project_id(task)).exists():
        return "The items of this labelling task were removed."
    return None


def _summary(task: StudyTask) -> str:
    from annotation.models import Project

    project = Project.objects.filter(pk=task_project_id(task)).first()
    if project is None:
        return ""
    items = task_items_per_participant(task)
    own = "" if items else " (its own quota)"
    items = items or project.quota_per_worker
    if not items:
        return f"{project.name}: every item left to each participant"
    return f"{project.name}: {items} item{'s' if items != 1 else ''} per participant{own}"


def _preview_url(task: StudyTask) -> str:
    url = reverse("annotation:work_preview", args=[task_project_id(task)])
    items = task_items_per_participant(task)
    return f"{url}?items={items}" if items else url


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
        preview_url=_preview_url,
        summary=_summary,
    )
)
