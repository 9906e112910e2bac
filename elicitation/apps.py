from django.apps import AppConfig


class ElicitationConfig(AppConfig):
    name = "elicitation"

    def ready(self) -> None:
        # Register the job types, the interview study task type and the LLM check's step.
        from core.llm_check import register_check
        from elicitation import jobs, study_tasks  # noqa: F401
        from elicitation.llm_checks import check_values_card

        register_check("values card (the interview's)", check_values_card)
