from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moralgraph.importing import DEFAULT_DELIBERATION, MgeImportError, mge_import


class Command(BaseCommand):
    help = (
        "Import the MGE study's dump (cards, scenarios, contexts, stories, votes, and the voters'"
        " demographics from demographic.json when present); idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "directory", type=Path, help="The folder holding edge.json and the rest."
        )
        parser.add_argument("--deliberation", default=DEFAULT_DELIBERATION, help="Its name (slug).")

    def handle(self, *args, directory: Path, deliberation: str, **options):
        try:
            report = mge_import(directory=directory, deliberation_name=deliberation)
        except MgeImportError as error:
            raise CommandError(str(error))
        created, totals = report["created"], report["totals"]
        self.stdout.write(f"Deliberation {report['deliberation']}:")
        with_attributes = totals.pop("voters_with_attributes")
        for kind, total in totals.items():
            self.stdout.write(f"  {kind}: {created.get(kind, 0)} new, {total} in all")
        self.stdout.write(f"  voters: {created['voters']} new")
        self.stdout.write(
            f"  voter attributes (demographics): {created['voter_attributes']} new;"
            f" {with_attributes} voters have some"
        )
