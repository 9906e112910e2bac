import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from training.services import DEFAULT_DESIGN, DESIGNS, evaluator_train


class Command(BaseCommand):
    help = (
        "Train the value evaluator (frozen-encoder, one-pass or value-conditioned design) on "
        "labelled JSONL."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", required=True, help="annotation export or FULCRA JSONL")
        parser.add_argument("--base-model", required=True, help="hub name or local folder")
        parser.add_argument("--out", required=True, help="folder to create for the model")
        parser.add_argument("--scheme", default="schwartz10")
        parser.add_argument(
            "--epochs",
            type=int,
            default=None,
            help="default: the design's (60 frozen-encoder, 4 one-pass, 2 value-conditioned)",
        )
        parser.add_argument("--batch-size", type=int, default=16)
        parser.add_argument("--max-length", type=int, default=256)
        parser.add_argument("--max-steps", type=int, default=None)
        parser.add_argument("--seed", type=int, default=13)
        parser.add_argument(
            "--design",
            choices=DESIGNS,
            default=DEFAULT_DESIGN,
            help="frozen-encoder (the default: the head alone on the encoder's embeddings), "
            "one-pass (fine-tunes the encoder too), value-conditioned",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="train on the readable lines and list the rest (as import_items does)",
        )

    def handle(self, *args, **options):
        def progress(step: int, total: int, message: str, metrics: dict) -> None:
            if step == total or step % 10 == 0:
                loss = metrics.get("loss", float("nan"))
                self.stderr.write(f"step {step}/{total} {message} loss {loss:.4f}")

        try:
            artifact = evaluator_train(
                data=options["data"],
                base_model=options["base_model"],
                out=options["out"],
                scheme=options["scheme"],
                epochs=options["epochs"],
                batch_size=options["batch_size"],
                max_length=options["max_length"],
                max_steps=options["max_steps"],
                seed=options["seed"],
                design=options["design"],
                skip_invalid=options["skip_invalid"],
                progress=progress,
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        test = artifact.card["metrics"]["test"]["overall"]
        sys.stdout.write(
            f"Wrote {artifact.path} (artifact {artifact.pk}). Test: accuracy "
            f"{test['accuracy']:.3f} (majority baseline {test['baseline_accuracy']:.3f}), "
            f"macro-F1 {test['macro_f1']:.3f} (baseline {test['baseline_macro_f1']:.3f}).\n"
        )
        dataset = artifact.card["dataset"]
        for error in dataset["skipped_lines"]:
            self.stderr.write(f"skipped {error}")
        sources = ", ".join(f"{n} {source}" for source, n in dataset["sources"].items())
        sys.stdout.write(
            f"Read {dataset['lines']} lines: {sum(dataset['sources'].values())} examples "
            f"({sources} labels), {len(dataset['skipped_lines'])} bad lines skipped, "
            f"{dataset['unlabelled']} unlabelled items left out.\n"
        )
