from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from core.demo import seed_demo


def app_demo_seeders() -> list:
    """Return each installed app's ``demo.seed_demo`` (core's first), found like Celery tasks."""
    seeders = [seed_demo]
    for config in apps.get_app_configs():
        module_name = f"{config.name}.demo"
        if config.name == "core" or find_spec(module_name) is None:
            continue
        seeders.append(import_module(module_name).seed_demo)
    return seeders


class Command(BaseCommand):
    help = "Load the demo: users, a study, and each app's demo data (safe to run again)."

    def handle(self, *args, **options):
        for seeder in app_demo_seeders():
            with transaction.atomic():
                lines = seeder()
            for line in lines:
                self.stdout.write(line)
