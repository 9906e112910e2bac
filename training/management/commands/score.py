import json

from django.core.management.base import BaseCommand, CommandError

from core.jsonl import JsonlError, jsonl_read
from training import evaluator


class Command(BaseCommand):
    help = "Score (prompt, response) pairs with a trained evaluator; print labels as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--evaluator", required=True, help="the evaluator's folder")
        parser.add_argument("--prompt")
        parser.add_argument("--response")
        parser.add_argument("--data", help="JSONL with prompt and response on each line")
        parser.add_argument("--batch-size", type=int, default=32)

    def handle(self, *args, **options):
        if options["data"]:
            pairs = list(self._read_pairs(options["data"]))
        elif options["prompt"] is not None and options["response"] is not None:
            pairs = [(options["prompt"], options["response"])]
        else:
            raise CommandError("give --prompt and --response, or --data FILE")
        try:
            model = evaluator.load(options["evaluator"])
        except evaluator.EvaluatorError as error:
            raise CommandError(str(error)) from None
        for row in model.score(pairs, batch_size=options["batch_size"]):
            self.stdout.write(json.dumps(row))

    def _read_pairs(self, path: str):
        try:
            for number, record in jsonl_read(path):
                try:
                    yield record["prompt"], record["response"]
                except (KeyError, TypeError):
                    raise CommandError(
                        f"line {number}: expected a JSON object with prompt and response"
                    ) from None
        except JsonlError as error:
            raise CommandError(
                f"{error}: expected a JSON object with prompt and response"
            ) from None
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
