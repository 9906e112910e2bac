from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        # Register the labelling study task type and the job types (pre-label, import).
        from annotation import jobs, study_tasks  # noqa: F401
