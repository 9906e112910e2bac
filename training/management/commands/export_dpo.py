import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from training.preferences import FORMATS
from training.services import dpo_export


class Command(BaseCommand):
    help = (
        "Write DPO pairs (prompt, chosen, rejected) in TRL's preference format from the moral "
        "graph: the policy answers guided by the wiser card (chosen) and the less wise (rejected)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--policy", required=True, help="the policy model's folder or name")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--deliberation", help="read this deliberation's moral graph")
        source.add_argument("--preferences", help="a preferences JSONL (moralgraph's export)")
        parser.add_argument("--rule", choices=["majority", "dft-2023"])
        parser.add_argument("--format", choices=FORMATS, default="conversational")
        parser.add_argument("--max-new-tokens", type=int, default=128)
        parser.add_argument("-o", "--out", required=True, help="the JSONL file to write")

    def handle(self, *args, **options):
        try:
            result = dpo_export(
                policy=options["policy"],
                out=options["out"],
                deliberation=options["deliberation"],
                rule=options["rule"],
                preferences_file=options["preferences"],
                format=options["format"],
                max_new_tokens=options["max_new_tokens"],
                progress=lambda done, total, message, metrics: self.stderr.write(
                    f"pair {done}/{total}"
                ),
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(json.dumps(result))
