from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.selectors import project_export_lines


class Command(BaseCommand):
    help = "Export a project's annotations as JSON lines (contracts.md), to a file or stdout."

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("-o", "--output", type=Path, help="File to write (default: stdout).")
        parser.add_argument(
            "--complete-only", action="store_true", help="Only items with all their annotations."
        )

    def handle(self, *args, project, output, complete_only, **options):
        target = Project.objects.select_related("scheme").filter(slug=project).first()
        if target is None:
            raise CommandError(f"no project {project!r}")
        lines = project_export_lines(project=target, complete_only=complete_only)
        if output is None:
            # The summary goes to stderr so stdout holds nothing but the data.
            count = self._write(lines, self.stdout)
            self.stderr.write(f"exported {count} items of project {target.slug}")
            return
        try:
            with output.open("w", encoding="utf-8") as stream:
                count = self._write(lines, stream)
        except OSError as error:
            raise CommandError(f"{output}: {error.strerror}")
        self.stdout.write(f"exported {count} items of project {target.slug} to {output}")

    @staticmethod
    def _write(lines, stream) -> int:
        count = 0
        for line in lines:
            stream.write(line)
            count += 1
        return count
