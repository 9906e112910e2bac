from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.services import DEFAULT_SCHEME, ItemImportRejected, item_import, project_create
from core.models import ValueScheme


class Command(BaseCommand):
    help = (
        "Import items to annotate from a JSONL or CSV file into a project (all-or-nothing "
        "unless --skip-invalid); print the project's id and the counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("file", type=Path)
        parser.add_argument("--create", action="store_true", help="Make the project if missing.")
        parser.add_argument("--overlap", type=int, help="Annotations per item (new projects).")
        parser.add_argument("--scheme", help=f"Value scheme key (default {DEFAULT_SCHEME}).")
        parser.add_argument(
            "--text-format",
            choices=Project.TextFormat.values,
            help="How annotators see the items: plain (exactly as imported; the default for new "
            "projects) or markdown. On an existing project it must match its setting.",
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Store the good lines, report the rest."
        )

    def handle(
        self, *args, project, file, create, overlap, scheme, text_format, skip_invalid, **options
    ):
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        wanted = {"overlap": overlap, "scheme_key": scheme, "text_format": text_format}
        target = self._project(slug=project, create=create, **wanted)
        with file.open("rb") as stream:
            try:
                report = item_import(
                    project=target, stream=stream, filename=file.name, skip_invalid=skip_invalid
                )
            except ItemImportRejected as rejected:
                for line in rejected.report.as_dict()["errors"]:
                    self.stderr.write(line)
                bad = rejected.report.invalid
                reason = (
                    f"{bad} bad line{'s' if bad != 1 else ''}; nothing was stored "
                    "(--skip-invalid stores the good lines)"
                    if bad
                    else rejected.report.errors[0]
                )
                raise CommandError(f"import into project {target.pk} failed: {reason}")
        for line in report.as_dict()["errors"]:
            self.stderr.write(line)
        self.stdout.write(
            f"project {target.pk} ({target.slug}): stored {report.stored}, "
            f"duplicates {report.duplicates}, invalid {report.invalid}"
        )

    def _project(
        self,
        *,
        slug: str,
        create: bool,
        overlap: int | None,
        scheme_key: str | None,
        text_format: str | None,
    ) -> Project:
        existing = Project.objects.select_related("scheme").filter(slug=slug).first()
        if existing is not None:
            if scheme_key and existing.scheme.key != scheme_key:
                raise CommandError(
                    f"project {slug} uses scheme {existing.scheme.key}, not {scheme_key}"
                )
            if overlap is not None and existing.overlap != overlap:
                raise CommandError(
                    f"project {slug} has overlap {existing.overlap}; change it in the admin"
                )
            if text_format is not None and existing.text_format != text_format:
                raise CommandError(
                    f"project {slug} shows items as {existing.text_format}, not {text_format}; "
                    "change it on the project's settings page or the settings API"
                )
            return existing
        if not create:
            raise CommandError(f"no project {slug!r} (--create makes it)")
        scheme = ValueScheme.objects.filter(key=scheme_key or DEFAULT_SCHEME).first()
        if scheme is None:
            raise CommandError(f"no value scheme {scheme_key or DEFAULT_SCHEME!r}")
        try:
            new = project_create(
                name=slug,
                slug=slug,
                scheme=scheme,
                created_by=None,
                overlap=overlap or 3,
                text_format=text_format or Project.TextFormat.PLAIN,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        self.stdout.write(f"created project {new.pk} ({new.slug}) on {scheme.key}")
        return new
