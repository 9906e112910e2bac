from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"

    def ready(self) -> None:
        # Register the labelling study task type, the pre-label and the import job types.
        from annotation import import_jobs, prelabel, study_tasks  # noqa: F401
