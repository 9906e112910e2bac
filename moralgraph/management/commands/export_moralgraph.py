from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from elicitation.models import Deliberation
from moralgraph import graph as moral_graph
from moralgraph.selectors import graph_for_deliberation


def deliberation_named(name: str | None) -> Deliberation:
    """Return the deliberation called ``name``, or the only one there is when no name is given."""
    if name:
        deliberation = Deliberation.objects.filter(name=name).first()
        if deliberation is None:
            raise CommandError(f"No deliberation called {name!r}.")
        return deliberation
    names = list(Deliberation.objects.values_list("name", flat=True)[:20])
    if len(names) != 1:
        listed = ", ".join(names) or "none exist yet"
        raise CommandError(f"Name the deliberation with --deliberation ({listed}).")
    return Deliberation.objects.get(name=names[0])


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--before: {text!r} is not a date (YYYY-MM-DD).")


class Command(BaseCommand):
    help = "Export a deliberation's moral graph as graph.json, GraphML or node-link JSON."

    def add_arguments(self, parser):
        parser.add_argument("--deliberation", help="Its name; optional when there is only one.")
        parser.add_argument(
            "--rule", choices=moral_graph.RULES, help="Default: the deliberation's rule."
        )
        parser.add_argument("--before", help="Count only votes cast before this date (YYYY-MM-DD).")
        parser.add_argument("--format", default="json", choices=list(moral_graph.FORMATS))
        parser.add_argument(
            "--include-uncounted",
            action="store_true",
            help="Also count votes marked as not counting (cast by someone who may not vote).",
        )
        parser.add_argument(
            "-o", "--output", type=Path, help="File to write; stdout when left out."
        )

    def handle(
        self, *args, deliberation, rule, before, format, output, include_uncounted, **options
    ):
        target = deliberation_named(deliberation)
        before_date = parse_date(before) if before else None
        built, document = graph_for_deliberation(
            deliberation=target, rule=rule, before=before_date, include_uncounted=include_uncounted
        )
        text = moral_graph.render(document, format)
        summary = (
            f"{target.name}: rule {document['rule']}, {len(document['values'])} values, "
            f"{len(document['edges'])} edges, {len(document['scores'])} contexts scored"
        )
        if output:
            output.write_text(text + "\n", encoding="utf-8")
            self.stdout.write(f"Wrote {output} ({summary}).")
        else:
            self.stdout.write(text)
            self.stderr.write(summary)
