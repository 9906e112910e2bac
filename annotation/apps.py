from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        # Register the labelling study task type and the pre-label job type.
        from annotation import prelabel, study_tasks  # noqa: F401
