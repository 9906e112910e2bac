from django.apps import AppConfig


class ElicitationConfig(AppConfig):
    name = "elicitation"

    def ready(self) -> None:
        # Register the settings checks, the job types, the study task type and an LLM check step.
        from core.llm_check import register_check
        from elicitation import checks, jobs, study_tasks  # noqa: F401
        from elicitation.llm_checks import check_values_card

        register_check("values card (the interview's)", check_values_card)
