from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.selectors import export_filters, project_export_lines


class Command(BaseCommand):
    help = "Export a project's annotations as JSON lines (contracts.md), to a file or stdout."

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("-o", "--output", type=Path, help="File to write (default: stdout).")
        parser.add_argument(
            "--complete-only", action="store_true", help="Only items with all their annotations."
        )
        parser.add_argument(
            "--adjudicated-only", action="store_true", help="Only items a reviewer adjudicated."
        )
        parser.add_argument(
            "--labelled-only", action="store_true", help="Leave out items nobody has labelled."
        )
        parser.add_argument(
            "--since", help="Only items annotated on or after this date (YYYY-MM-DD or ISO)."
        )
        parser.add_argument("--until", help="... and before this date (exclusive).")

    def handle(self, *args, project, output, **options):
        target = Project.objects.select_related("scheme").filter(slug=project).first()
        if target is None:
            raise CommandError(f"no project {project!r}")
        try:
            filters = export_filters(options)
        except ValidationError as error:
            field, messages = next(iter(error.message_dict.items()))
            raise CommandError(f"--{field}: {' '.join(messages)}")
        lines = project_export_lines(project=target, **filters)
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
