from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Value profiles"

    def ready(self) -> None:
        from evaluation import checks, jobs  # noqa: F401  (registers the job type and checks)
