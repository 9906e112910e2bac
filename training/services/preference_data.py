"""DPO preference data from the moral graph's preferences, started as a job."""

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ValidationError

from core.jobs import job_start
from core.models import Job, User
from moralgraph.selectors import deliberation_named, preference_export, preference_questions
from training import preferences
from training.services.common import ProgressCallback, policy_check, training_dir

EXPORT_DPO = "training.export_dpo"


def _questions_for(records: list[dict]) -> Callable[[dict], list[str]]:
    """Return a function giving a preference line its prompts: the question its wiser card
    was elicited on, else the questions asked in its context (read through moralgraph)."""
    scenario_ids = {
        record["wiser"].get("scenario")
        for record in records
        if isinstance(record.get("wiser"), dict) and record["wiser"].get("scenario") is not None
    }
    context_ids = {record.get("context_id") for record in records if record.get("context_id")}
    questions, by_context = preference_questions(scenario_ids=scenario_ids, context_ids=context_ids)

    def prompts(line: dict) -> list[str]:
        own = questions.get(line["wiser"].get("scenario"))
        return [own] if own else by_context.get(line.get("context_id"), [])

    return prompts


def dpo_export(
    *,
    policy: str,
    out: str | Path,
    deliberation: str | None = None,
    rule: str | None = None,
    preferences_file: str | Path | None = None,
    format: str = "conversational",
    max_new_tokens: int = 128,
    progress: ProgressCallback | None = None,
) -> dict:
    """Write DPO pairs (TRL's preference format) from the moral graph's preferences.

    Reads the deliberation's preferences (moralgraph's export) or a preferences JSONL file;
    the prompts are the question the wiser card was elicited on, else the questions asked in
    its context (one pair each), else the context itself. Returns the counts and where the
    file is; writes nothing unless every pair was generated.
    """
    try:
        graph_summary: dict = {}
        if preferences_file:
            records = preferences.read_preferences(preferences_file)
        else:
            records, graph_summary = _deliberation_preferences(deliberation, rule)
        records, two_way = preferences.one_way_preferences(records)
        pairs = preferences.pairs_from_preferences(records, prompt_for=_questions_for(records))
        policy_folder = policy_check(policy)
        identical: list = []
        generator = preferences.CardGuidedPolicy(policy_folder, max_new_tokens=max_new_tokens)
        rows = preferences.preference_rows(
            pairs,
            generator.answer,
            format=format,
            progress=(lambda done, total: progress(done, total, "generating", {}))
            if progress
            else None,
            identical=identical,
            resample=generator.resample,
        )
        if not rows:
            raise preferences.PreferenceError(
                f"the policy gave the same answer for both cards of all {len(pairs)} pairs: "
                "nothing to prefer"
            )
        path = preferences.write_jsonl_atomic(rows, out)
    except (preferences.PreferenceError, OSError) as error:
        raise ValidationError({"preferences": str(error)}) from None
    dropped = {id(pair) for pair in identical}
    summary = {
        "two_way": two_way + graph_summary.get("two_way", 0),
        "tied": graph_summary.get("tied", 0),
        "identical_answers": len(identical),
    }
    meta = {
        "policy": policy,
        "deliberation": deliberation,
        "rule": rule,
        "preferences_file": str(preferences_file) if preferences_file else None,
        "format": format,
        "summary": summary,
        "pairs": [pair.meta for pair in pairs if id(pair) not in dropped],
    }
    Path(f"{path}.meta.json").write_text(json.dumps(meta, indent=1))
    return {"out": str(path), "pairs": len(rows), "format": format, "left_out": summary}


def _deliberation_preferences(name: str | None, rule: str | None) -> tuple[list[dict], dict]:
    if not name:
        raise ValidationError({"deliberation": "name a deliberation or give a preferences file"})
    deliberation = deliberation_named(name)
    if deliberation is None:
        raise ValidationError({"deliberation": f"no deliberation called {name!r}"})
    lines, summary = preference_export(deliberation=deliberation, rule=rule)
    return list(lines), summary


def dpo_export_start(
    *,
    created_by: User | None,
    name: str,
    deliberation: str,
    policy: str,
    rule: str | None = None,
    format: str = "conversational",
    max_new_tokens: int = 128,
    idempotency_key: str | None = None,
) -> Job:
    """Check the deliberation and policy are there, then start the ``training.export_dpo`` job."""
    if deliberation_named(deliberation) is None:
        raise ValidationError({"deliberation": f"no deliberation called {deliberation!r}"})
    policy_check(policy)
    out = training_dir("exports") / f"{name}-{uuid.uuid4().hex[:8]}.jsonl"
    return job_start(
        kind=EXPORT_DPO,
        created_by=created_by,
        idempotency_key=idempotency_key,
        params={
            "deliberation": deliberation,
            "rule": rule or None,
            "policy": policy,
            "format": format,
            "max_new_tokens": max_new_tokens,
            "out": str(out),
        },
    )
