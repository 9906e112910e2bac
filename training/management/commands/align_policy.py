import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from training import alignment
from training.services import alignment_run


class Command(BaseCommand):
    help = "Align a policy LLM to a target value vector with GRPO (BaseAlign reward)."

    def add_arguments(self, parser):
        parser.add_argument("--evaluator", required=True, help="a trained evaluator's folder")
        parser.add_argument("--policy", required=True, help="the policy model's folder or name")
        parser.add_argument("--prompts", required=True, help='JSONL of {"prompt": …}')
        parser.add_argument("--target", required=True, help='JSON of {"value": -1…1, …}')
        parser.add_argument("--out", required=True, help="folder to create for the policy")
        parser.add_argument("--distance", choices=alignment.DISTANCES, default="l2")
        parser.add_argument("--steps", type=int, default=50)
        parser.add_argument("--num-generations", type=int, default=4)
        parser.add_argument("--max-completion-length", type=int, default=64)
        parser.add_argument("--learning-rate", type=float, default=1e-5)
        parser.add_argument("--report-prompts", type=int, default=8)
        parser.add_argument("--no-lora", action="store_true", help="train every weight")

    def handle(self, *args, **options):
        try:
            target = alignment.read_target(options["target"], dimensions=self._dimensions(options))
            artifact = alignment_run(
                evaluator_dir=options["evaluator"],
                policy=options["policy"],
                prompts_file=options["prompts"],
                target=target,
                out=options["out"],
                steps=options["steps"],
                num_generations=options["num_generations"],
                max_completion_length=options["max_completion_length"],
                learning_rate=options["learning_rate"],
                distance=options["distance"],
                lora=not options["no_lora"],
                report_prompts=options["report_prompts"],
                progress=lambda step, total, message, metrics: self.stderr.write(
                    f"step {step}/{total} {message}"
                    + (f" reward {metrics['reward']:.4f}" if "reward" in metrics else "")
                ),
            )
        except alignment.AlignmentError as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if artifact is None:
            sys.stdout.write("Done here; the main process writes and registers the policy.\n")
            return
        report = artifact.card["report"]
        sys.stdout.write(
            f"Wrote {options['out']} (model {artifact.pk}): mean distance to the target "
            f"{report['before']['mean_distance']} before, {report['after']['mean_distance']} "
            f"after ({report['seconds']} s).\n"
        )

    def _dimensions(self, options) -> list[str]:
        from training import evaluator

        try:
            return evaluator.load_card(options["evaluator"])["dimensions"]
        except evaluator.EvaluatorError as error:
            raise CommandError(str(error)) from None
