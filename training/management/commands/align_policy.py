import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from training import alignment
from training.alignment import DEFAULTS as D
from training.services import alignment_run
from training.services.policy_alignment import RUN_SETTINGS


class Command(BaseCommand):
    help = "Align a policy LLM to a target value vector with GRPO (BaseAlign reward)."

    def add_arguments(self, parser):
        parser.add_argument("--evaluator", required=True, help="a trained evaluator's folder")
        parser.add_argument("--policy", required=True, help="the policy model's folder or name")
        parser.add_argument("--prompts", required=True, help='JSONL of {"prompt": …}')
        parser.add_argument("--target", required=True, help='JSON of {"value": -1…1, …}')
        parser.add_argument("--out", required=True, help="folder to create for the policy")
        parser.add_argument(
            "--distance",
            choices=alignment.DISTANCES,
            default=D.distance,
            help="fulcra: the FULCRA paper's masked reward, for reproduction",
        )
        parser.add_argument(
            "--guard",
            choices=alignment.GUARDS,
            default=D.guard,
            help="engaged (default): an answer that says nothing or ignores its prompt (less "
            "engaged than 90%% of the reference policy's answers) scores no better than the "
            "all-unrelated vector; floor: saying nothing only; none: the plain distance",
        )
        parser.add_argument("--steps", type=int, default=D.steps)
        parser.add_argument("--num-generations", type=int, default=D.num_generations)
        parser.add_argument("--max-completion-length", type=int, default=D.max_completion_length)
        parser.add_argument("--learning-rate", type=float, default=D.learning_rate)
        parser.add_argument("--temperature", type=float, default=D.temperature)
        parser.add_argument(
            "--beta", type=float, default=D.beta, help="KL to the reference policy (0: none)"
        )
        parser.add_argument(
            "--report-prompts",
            type=int,
            default=D.report_prompts,
            help="held-out prompts for the before/after report (at most half the prompts)",
        )
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
                lora=not options["no_lora"],
                **{name: options[name] for name in RUN_SETTINGS if name != "lora"},
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
            f"Wrote {options['out']} (model {artifact.pk}) in {report['seconds']} s.\n"
            + alignment.table_line(artifact.card)
            + "\n"
        )

    def _dimensions(self, options) -> list[str]:
        from training import evaluator

        try:
            return evaluator.load_card(options["evaluator"])["dimensions"]
        except evaluator.EvaluatorError as error:
            raise CommandError(str(error)) from None
