"""Human check of the evaluator on a subject: a sample of a run's (prompt, response) pairs goes
to an annotation project; once people label them, the evaluator's labels are compared with
theirs, value by value.

evaluation → annotation: this module is the one place evaluation imports annotation, and only
its services (project_create, item_import) and its export reader (project_export_lines).
"""

import io
import json
import random

from django.core.exceptions import ValidationError
from django.db import transaction

from core.models import User, ValueScheme
from core.stats import wilson
from evaluation.models import Response, Run
from evaluation.selectors import response_labels, run_responses

ITEM_PREFIX = "eval-response-"


def human_check_send(*, run: Run, sample: int = 50, overlap: int = 3, user: User | None) -> dict:
    """Send a random sample of the run's answered pairs to an annotation project (made once per
    run, named after it); return {"project", "stored", "duplicates"}. Sending again adds only
    pairs not sent before."""
    from annotation.models import Project
    from annotation.services import item_import, project_create

    if run.status != Run.Status.DONE:
        raise ValidationError({"run": "Send pairs once the run is done."})
    if sample < 1:
        raise ValidationError({"sample": "at least 1"})
    scheme = ValueScheme.objects.filter(key=run.scheme).first()
    if scheme is None:
        raise ValidationError({"scheme": f"no value scheme {run.scheme!r} for annotation"})
    ids = list(
        run_responses(run=run).filter(status=Response.Status.OK).values_list("pk", flat=True)
    )
    chosen = random.Random(run.pk).sample(sorted(ids), min(sample, len(ids)))
    responses = Response.objects.filter(pk__in=chosen).order_by("pk")
    lines = "".join(
        json.dumps(
            {
                "id": f"{ITEM_PREFIX}{response.pk}",
                "prompt": response.prompt,
                "response": response.text,
                "source": run.subject.name[:200],
                "meta": {"evaluation_run": run.pk},
            },
            ensure_ascii=False,
        )
        + "\n"
        for response in responses
    )
    with transaction.atomic():
        project = run.human_check
        if project is None:
            slug = f"evaluation-run-{run.pk}"
            project = Project.objects.filter(slug=slug).first() or project_create(
                name=f"Human check: {run.subject.name} on {run.pool}"[:200],
                slug=slug,
                scheme=scheme,
                created_by=user,
                overlap=overlap,
                instructions="Label what the assistant's response does to each value: "
                "+1 upholds it, -1 violates it, 0 unrelated.",
            )
            Run.objects.filter(pk=run.pk).update(human_check=project)
            run.human_check = project
        report = item_import(
            project=project, stream=io.BytesIO(lines.encode()), filename="sample.jsonl"
        )
    return {"project": project, "stored": report.stored, "duplicates": report.duplicates}


def human_agreement(*, run: Run) -> dict | None:
    """Return the evaluator's agreement with the people's (majority) labels on the pairs they
    labelled: {"n", "values": {key: {"agree", "ci", "n"}}, "overall": {…}}; None if nothing is
    labelled yet (or no pairs were sent)."""
    from annotation.selectors import project_export_lines

    if run.human_check is None:
        return None
    human: dict[int, dict] = {}
    for line in project_export_lines(project=run.human_check, labelled_only=True):
        record = json.loads(line)
        if record["id"].startswith(ITEM_PREFIX) and record["labels"] is not None:
            human[int(record["id"][len(ITEM_PREFIX) :])] = record["labels"]
    if not human:
        return None
    machine = response_labels(run=run, response_ids=list(human))
    values, total_hits, total_n = {}, 0, 0
    dimensions = run.profile.get("dimensions", [])
    for key in dimensions:
        pairs = [
            (human[pk][key], machine[pk][key]["label"])
            for pk in human
            if pk in machine and key in machine[pk] and human[pk].get(key) is not None
        ]
        hits = sum(people == model for people, model in pairs)
        values[key] = {
            "agree": round(hits / len(pairs), 4) if pairs else None,
            "ci": wilson(hits, len(pairs)),
            "n": len(pairs),
        }
        total_hits += hits
        total_n += len(pairs)
    return {
        "n": len(human),
        "values": values,
        "overall": {
            "agree": round(total_hits / total_n, 4) if total_n else None,
            "ci": wilson(total_hits, total_n),
            "n": total_n,
        },
    }
