"""Task types a study can include. Apps register theirs; core knows none of them by name.

A task type says how to reach the task and whether a participant has done it::

    register_task_type(TaskType(
        kind="annotation.label", label="Label AI answers",
        url=lambda participation, task: reverse("annotation:work", args=[task.config["project"]]),
        is_done=lambda participation, task: ...,
    ))

Core registers ``consent``: the participant reads the study's consent text and agrees.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from core.models import Participation, StudyTask


@dataclass(frozen=True)
class TaskType:
    kind: str
    label: str
    url: Callable[[Participation, StudyTask], str]
    # Whether the task is done beyond its TaskCompletion row (e.g. k items labelled); None: only
    # the completion row counts.
    is_done: Callable[[Participation, StudyTask], bool] | None = None
    # Return the config cleaned, or raise ValidationError({field: message}) for a bad one.
    clean_config: Callable[[dict], dict] | None = None
    # Why a stored task cannot be taken now (its project or deliberation was deleted), or None.
    unavailable: Callable[[StudyTask], str | None] | None = None
    # Whether the task type can run on this installation (e.g. its data file is present).
    installed: Callable[[], bool] | None = None
    # Whether ``task`` is this type's task at ``target`` (a project id, a deliberation name...):
    # lets a task's page find the study task it belongs to, to keep tasks in order.
    is_at: Callable[[StudyTask, object], bool] | None = None
    # The New-study page's fields for this type's config ({config key: form field}), built per
    # request so their choices are what exists now.
    form_fields: Callable[[], dict] | None = None
    # Where the New-study page puts this type by default (consent first).
    default_order: int = 50
    # Where a researcher sees the task as a participant would, in a preview that stores nothing
    # (the page says so); None: the type has no preview.
    preview_url: Callable[[StudyTask], str] | None = None
    # What the task's settings come to, in words, for the researcher's study page ("Chatbot
    # answers: 3 items per participant"); None: the type has nothing to say.
    summary: Callable[[StudyTask], str] | None = None

    def is_installed(self) -> bool:
        return self.installed is None or bool(self.installed())


TASK_TYPES: dict[str, TaskType] = {}


def register_task_type(task_type: TaskType) -> None:
    """Make ``task_type`` available to studies (called from an app's ``ready()``)."""
    TASK_TYPES[task_type.kind] = task_type


def _task_type_says(task: StudyTask, hook: str) -> str:
    """Return what the task type's ``hook`` says of ``task``, or "" (no type of that kind here,
    or it has no such hook, or what the task is about is gone)."""
    task_type = TASK_TYPES.get(task.kind)
    if task_type is None or getattr(task_type, hook) is None:
        return ""
    if task_type.unavailable is not None and task_type.unavailable(task):
        return ""
    return getattr(task_type, hook)(task)


def task_preview_url(task: StudyTask) -> str:
    """Return where a researcher previews ``task`` as a participant sees it, or "" (no preview,
    or what the task is about is gone)."""
    return _task_type_says(task, "preview_url")


def task_summary(task: StudyTask) -> str:
    """Return ``task``'s settings in words for the researcher, or "" (nothing to say, or what
    the task is about is gone)."""
    return _task_type_says(task, "summary")


def task_type_choices() -> list[tuple[str, str]]:
    """Return (kind, label) pairs for every task type installed here, for forms."""
    return sorted((t.kind, t.label) for t in TASK_TYPES.values() if t.is_installed())


def positive_int(config: dict, field: str, *, required: bool = False, most: int = 100_000):
    """Return ``config[field]`` as a positive whole number (None when absent and optional)."""
    from django.core.exceptions import ValidationError

    value = config.get(field)
    if value in (None, "") and not required:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValidationError({field: f"must be a whole number from 1 to {most:,}"})
    return value


register_task_type(
    TaskType(
        kind="consent",
        label="Consent form",
        url=lambda participation, task: reverse(
            "core:consent", args=[participation.study.slug, task.pk]
        ),
        is_at=lambda task, task_id: task.pk == task_id,
        default_order=1,
        preview_url=lambda task: reverse("core:consent", args=[task.study.slug, task.pk]),
    )
)
