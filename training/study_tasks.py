"""The study task type "training.pvq40": answer the PVQ-40 questionnaire for a value profile.

The task links to the PVQ-40 page; it is offered only where the item texts are installed (they
are not shipped), and a researcher opening it sees a preview whose answers are never stored.
"""

from django.urls import reverse

from core.study_tasks import TaskType, register_task_type
from training.services import pvq_items_path

KIND = "training.pvq40"


def _url(participation, task) -> str:
    return f"{reverse('training:pvq')}?task={task.pk}"


register_task_type(
    TaskType(
        kind=KIND,
        label="Value profile (PVQ-40 questionnaire)",
        url=_url,
        # Offered only where the PVQ-40 item texts are present (they are not shipped).
        installed=lambda: pvq_items_path().is_file(),
        unavailable=lambda task: (
            None if pvq_items_path().is_file() else "The questionnaire is not installed."
        ),
        is_at=lambda task, task_id: task.pk == task_id,
        default_order=5,
        # Researchers see the page as a preview: answers checked, never stored.
        preview_url=lambda task: _url(None, task),
    )
)
