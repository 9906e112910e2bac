from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        from django.urls import reverse

        from core.study_tasks import TaskType, register_task_type
        from training import jobs  # noqa: F401  (registers the training job types)
        from training.views import PVQ_TASK

        register_task_type(
            TaskType(
                kind=PVQ_TASK,
                label="Value profile (PVQ-40 questionnaire)",
                url=lambda participation, task: f"{reverse('training:pvq')}?task={task.pk}",
            )
        )
