import json
import os
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from evaluation import profiles
from evaluation.models import Subject
from evaluation.services import (
    RunPaused,
    evaluator_card,
    pool_import,
    run_alignment,
    run_create,
    run_execute,
    subject_create,
    target_vector,
)


class Command(BaseCommand):
    help = (
        "Profile a model's values: generate a response per prompt, score them with an "
        "evaluator, write the profile as JSON (with --target, its alignment to it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--endpoint", help="an OpenAI-compatible base URL (…/v1)")
        parser.add_argument("--model", help="the model name to ask at --endpoint")
        parser.add_argument("--api-key-env", default="", help="environment variable with the key")
        parser.add_argument("--policy", help="a local policy folder (transformers)")
        parser.add_argument("--prompts", required=True, help="JSONL or CSV of prompts")
        parser.add_argument("--evaluator", required=True, help="a trained evaluator's folder")
        parser.add_argument("--target", help='JSON of {"value": -1…1, …} (optional "scheme")')
        parser.add_argument("--out", required=True, help="the JSON file to write")
        parser.add_argument("--skip-invalid", action="store_true", help="skip unreadable lines")
        parser.add_argument("--temperature", type=float, default=0.0)
        parser.add_argument("--max-tokens", type=int, default=256)
        parser.add_argument(
            "--concurrency", type=int, help="requests in flight to --endpoint at most"
        )
        parser.add_argument("--max-calls", type=int, help="cost cap: LLM calls at most")

    def handle(self, *args, **options):
        try:
            self._profile(options)
        except ValidationError as error:
            raise CommandError(_one_line(error)) from None
        except RunPaused as pause:
            raise CommandError(str(pause)) from None

    def _profile(self, options) -> None:
        endpoint, model, policy = options["endpoint"], options["model"], options["policy"]
        if bool(policy) == bool(endpoint or model):
            raise CommandError("give either --endpoint URL --model NAME, or --policy DIR")
        if not policy and not (endpoint and model):
            raise CommandError("--endpoint and --model go together")
        card = evaluator_card(options["evaluator"])
        scheme, dimensions = card.get("scheme", "schwartz10"), list(card["dimensions"])
        target = None
        if options["target"]:
            target = target_vector(
                _read_json(options["target"]), scheme=scheme, dimensions=dimensions
            )
        prompts_path = Path(options["prompts"])
        try:
            data = prompts_path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {prompts_path}: {error.strerror}") from None
        pool, skipped = pool_import(
            name=prompts_path.stem,
            data=data,
            filename=prompts_path.name,
            skip_invalid=options["skip_invalid"],
            dimensions=dimensions,
        )
        for line in skipped:
            self.stderr.write(f"skipped {line}")
        generation = {"temperature": options["temperature"], "max_tokens": options["max_tokens"]}
        if options["concurrency"]:
            generation["concurrency"] = options["concurrency"]
        if policy:
            subject = subject_create(
                name=Path(policy).name,
                kind=Subject.Kind.POLICY,
                policy_path=str(Path(policy).resolve()),
                generation=generation,
            )
        else:
            subject = subject_create(
                name=model,
                kind=Subject.Kind.ENDPOINT,
                endpoint=endpoint,
                model=model,
                api_key_env=options["api_key_env"],
                generation=generation,
            )
        run = run_create(
            subject=subject,
            pool=pool,
            evaluator_path=options["evaluator"],
            max_calls=options["max_calls"],
        )
        profile = run_execute(
            run=run,
            progress=lambda done, total, message: self.stderr.write(f"{done}/{total} {message}"),
        )
        result = profiles.contract_json(
            subject=subject.name,
            evaluator=run.evaluator_name,
            values=profile["values"],
            n=profile["n"],
            alignment_scores=run_alignment(run=run, target=target) if target else None,
        )
        _write_atomically(Path(options["out"]), json.dumps(result, indent=2) + "\n")
        sys.stdout.write(
            f"Wrote {options['out']}: {subject.name} on {profile['n']} responses "
            f"({profile['failed']} prompts failed), run {run.pk}.\n"
        )


def _read_json(path: str):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read the target {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise CommandError(f"the target {path} is not valid JSON: {error}") from None


def _write_atomically(path: Path, text: str) -> None:
    scratch = path.with_name(f".{path.name}.tmp")
    try:
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, path)
    except OSError as error:
        scratch.unlink(missing_ok=True)
        raise CommandError(f"cannot write {path}: {error.strerror}") from None


def _one_line(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        parts = []
        for field, errors in error.message_dict.items():
            parts.append(f"{field}: " + "; ".join(errors))
        return " | ".join(parts)
    return "; ".join(error.messages)
