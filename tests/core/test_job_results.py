"""Every job type's result reads as tables: no Python dict, no file path, on the job page and
(for training jobs) the run page."""

import re

import pytest
from django.conf import settings

import elicitation.contexts  # noqa: F401  (registers its job types, as a worker does)
import elicitation.grading  # noqa: F401
from core.jobs import JOB_TYPES
from core.models import Job

pytestmark = pytest.mark.django_db

VAR = str(settings.VAR_DIR)

# What each job type returns (shapes taken from the handlers), with server paths in them.
RESULTS = {
    "annotation.import_items": {
        "stored": 1315,
        "duplicates": 0,
        "invalid": 36,
        "errors": ["line 122: labels.benevolence: given two different labels"],
        "rejected": False,
    },
    "annotation.prelabel": {
        "labelled": 40,
        "failed": 2,
        "model": "qwen2.5-7b-instruct",
        "prompt_version": "v3",
    },
    "core.llm_check": {
        "backend": "openai",
        "steps": [{"step": "chat", "ok": True, "seconds": 0.4, "output": "ok", "error": ""}],
        "endpoint": {},
    },
    "elicitation.dedup": {
        "embedded": 630,
        "cards": 630,
        "new": 12,
        "merged": 3,
        "kept_apart": 9,
        "llm_questions": 4,
        "threshold": 0.87,
    },
    "elicitation.contexts_propose": {
        "proposed": 6,
        "stored": 4,
        "dropped_as_duplicates": 2,
        "prompt_version": "v2",
    },
    "elicitation.grade_chats": {"graded": 12, "unreadable": 1, "grader_version": "g1"},
    "evaluation.evolve": {"pool": 3, "items": 42, "calls": 120},
    "evaluation.run": {"run": 7, "n": 1000, "failed": 3},
    "moralgraph.generate_stories": {"written": 40, "failed": 1, "run_id": "1b2c"},
    "moralgraph.recompute": {"contexts": 21, "votes": 1592},
    "training.align_policy": {
        "artifact": 5,
        "path": f"{VAR}/models/policy-5",
        "distance_before": 2.0571,
        "distance_after": 2.0263,
        "change": {"mean": -0.031, "low": -0.09, "high": 0.02, "n": 50},
    },
    "training.export_dpo": {
        "out": f"{VAR}/dpo/job-42.jsonl",
        "pairs": 57,
        "format": "conversational",
        "left_out": {"two_way": 4, "tied": 8, "identical_answers": 0},
    },
    "training.score_project": {"scored": 120, "skipped": 3},
    "training.train_evaluator": {
        "artifact": 4,
        "path": "/srv/valuelab/var/models/evaluator-4",
        "test": {
            "accuracy": 0.6512,
            "baseline_accuracy": 0.6,
            "macro_f1": 0.41,
            "values": ["security", "benevolence"],
            "n": 203,
        },
        "data": {"items": 1315, "unlabelled": 0},
    },
}


def _is_clean(page: str) -> None:
    assert "{'" not in page and "{&#x27;" not in page and "[{" not in page
    assert "<pre>{" not in page
    assert VAR not in page and "/srv/" not in page, "a server path is shown"


def test_every_job_type_has_a_result_here():
    # The apps' job types (other test modules register "tests.*" types of their own).
    app_types = {kind for kind in JOB_TYPES if not kind.startswith("tests.")}
    assert app_types <= set(RESULTS), "add the new job type's result shape to RESULTS"


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_a_finished_job_shows_its_result_as_a_table(kind, rita, rita_client):
    job = Job.objects.create(
        kind=kind, status=Job.Status.SUCCEEDED, result=RESULTS[kind], created_by=rita
    )
    page = rita_client.get(f"/jobs/{job.pk}/").content.decode()
    _is_clean(page)
    assert "<table" in page
    pages = [page]
    if kind.startswith("training."):
        run = rita_client.get(f"/training/runs/{job.pk}/").content.decode()
        _is_clean(run)
        pages.append(run)
    for text in pages:
        # Every number in the result is there, formatted, in a table cell.
        for key, value in RESULTS[kind].items():
            if isinstance(value, int) and not isinstance(value, bool) and key != "artifact":
                assert re.search(rf"<td>{value:,}</td>", text), (kind, key)


def test_the_result_names_its_fields_in_words_and_files_by_their_name():
    from core.templatetags.job_results import result_table

    html = str(result_table(RESULTS["training.train_evaluator"]))
    assert '<th scope="row">Baseline accuracy</th><td>0.6</td>' in html
    assert '<th scope="row">Macro F1</th><td>0.41</td>' in html
    assert "<td>security, benevolence</td>" in html
    assert '<a href="/training/models/4/">model 4</a>' in html
    assert ">evaluator-4</span>" in html and "/srv/" not in html


def test_result_text_is_escaped():
    from core.templatetags.job_results import result_table

    html = str(result_table({"errors": ["<script>alert(1)</script>"], "rows": [{"a": "<b>"}]}))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
