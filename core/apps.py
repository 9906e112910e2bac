from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "ValueLab core"

    def ready(self) -> None:
        from core import checks, study_tasks  # noqa: F401  (registers checks and built-in tasks)
