from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        # Register the labelling study task type.
        from annotation import study_tasks  # noqa: F401
