from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        from django.urls import reverse

        from core.study_tasks import TaskType, register_task_type
        from training import jobs  # noqa: F401  (registers the training job types)
        from training.services import pvq_items_path
        from training.views import PVQ_TASK

        register_task_type(
            TaskType(
                kind=PVQ_TASK,
                label="Value profile (PVQ-40 questionnaire)",
                url=lambda participation, task: f"{reverse('training:pvq')}?task={task.pk}",
                # Offered only where the PVQ-40 item texts are present (they are not shipped).
                installed=lambda: pvq_items_path().is_file(),
                unavailable=lambda task: (
                    None if pvq_items_path().is_file() else "The questionnaire is not installed."
                ),
                is_at=lambda task, task_id: task.pk == task_id,
                default_order=5,
                # Researchers see the page as a preview: answers checked, never stored.
                preview_url=lambda task: f"{reverse('training:pvq')}?task={task.pk}",
            )
        )
