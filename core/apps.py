from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "ValueLab core"

    def ready(self) -> None:
        # Register system checks, the built-in study task types and core's job types.
        from core import checks, llm_check, study_tasks  # noqa: F401
        from core.llm import checks as llm_checks  # noqa: F401
