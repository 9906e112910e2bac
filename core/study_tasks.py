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


TASK_TYPES: dict[str, TaskType] = {}


def register_task_type(task_type: TaskType) -> None:
    """Make ``task_type`` available to studies (called from an app's ``ready()``)."""
    TASK_TYPES[task_type.kind] = task_type


def task_type_choices() -> list[tuple[str, str]]:
    """Return (kind, label) pairs for every registered task type, for forms."""
    return sorted((t.kind, t.label) for t in TASK_TYPES.values())


register_task_type(
    TaskType(
        kind="consent",
        label="Consent form",
        url=lambda participation, task: reverse(
            "core:consent", args=[participation.study.slug, task.pk]
        ),
    )
)
