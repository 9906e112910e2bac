from django.apps import AppConfig


class MoralgraphConfig(AppConfig):
    name = "moralgraph"
    verbose_name = "Moral graph"

    def ready(self) -> None:
        # Register the settings checks, the job types and the study task type.
        from moralgraph import checks, jobs, study_tasks  # noqa: F401
