from django.apps import AppConfig


class MoralgraphConfig(AppConfig):
    name = "moralgraph"
