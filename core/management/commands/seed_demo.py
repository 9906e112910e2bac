from django.core.management.base import BaseCommand
from django.db import transaction

from core.demo import seed_demo


class Command(BaseCommand):
    help = "Load the demo: a researcher, an admin, participants and a study (safe to run again)."

    def handle(self, *args, **options):
        with transaction.atomic():
            lines = seed_demo()
        for line in lines:
            self.stdout.write(line)
