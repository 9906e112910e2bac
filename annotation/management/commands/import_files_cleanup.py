from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from annotation.uploads import CLEANUP_AGE, import_files_cleanup, upload_dir


class Command(BaseCommand):
    help = (
        "Delete uploaded import files that no import job will read again (older than --hours, "
        "their job finished, failed, silent or missing); print how many."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours",
            type=float,
            default=CLEANUP_AGE.total_seconds() / 3600,
            help=f"Keep files younger than this (default {CLEANUP_AGE.total_seconds() / 3600:g}).",
        )

    def handle(self, *args, hours, **options):
        if hours < 0:
            raise CommandError(f"--hours must not be negative, got {hours:g}")
        deleted = import_files_cleanup(max_age=timedelta(hours=hours))
        for name in deleted:
            self.stdout.write(name)
        self.stdout.write(f"deleted {len(deleted)} file(s) from {upload_dir()}")
