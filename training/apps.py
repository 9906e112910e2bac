from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        # Register the settings checks, the job types and the PVQ-40 study task type.
        from training import checks, jobs, study_tasks  # noqa: F401
