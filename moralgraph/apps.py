from django.apps import AppConfig


class MoralgraphConfig(AppConfig):
    name = "moralgraph"
    verbose_name = "Moral graph"

    def ready(self) -> None:
        # Register the settings checks.
        from moralgraph import checks  # noqa: F401
