from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        # Register the settings checks, the job types (pre-label, import) and the study task type.
        from annotation import checks, jobs, study_tasks  # noqa: F401
