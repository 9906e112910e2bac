"""ML engineers and researchers drive evaluator training and scoring through the API."""

import json

import pytest

from core.models import Job
from training.models import ModelArtifact


@pytest.fixture
def settings_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_a_researcher_trains_an_evaluator_as_a_job_and_scores_with_it(
    api_for,
    rita,
    alice,
    tiny_encoder,
    labelled_file,
    settings_var,
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    with labelled_file.open("rb") as data, django_capture_on_commit_callbacks(execute=True):
        response = api_for(rita).post(
            "/api/training/evaluators/",
            {"name": "tiny", "base_model": str(tiny_encoder), "data": data, "epochs": 1},
            format="multipart",
        )

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.progress_done == job.progress_total > 0
    artifact = ModelArtifact.objects.get()
    assert artifact.job == job and artifact.path.startswith(str(settings_var))
    listed = api_for(rita).get("/api/training/evaluators/").json()
    assert [row["name"] for row in listed] == [artifact.name]

    items = {"items": [{"prompt": "Is it safe?", "response": "Lock it, it is safe."}]}
    url = f"/api/training/evaluators/{artifact.pk}/score/"
    scored = api_for(rita).post(url, items, format="json")

    assert scored.status_code == 200
    assert set(scored.json()[0]["labels"]) >= {"security", "benevolence"}
    assert api_for(alice).post(url, items, format="json").status_code == 403


def test_a_participant_cannot_start_training(api_for, alice, labelled_file):
    with labelled_file.open("rb") as data:
        response = api_for(alice).post(
            "/api/training/evaluators/",
            {"name": "x", "base_model": "m", "data": data},
            format="multipart",
        )

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_a_corrupt_dataset_fails_the_job_naming_the_line_and_registers_nothing(
    api_for,
    rita,
    tiny_encoder,
    labelled_file,
    settings_var,
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    with labelled_file.open("a") as data:
        data.write("{broken\n")
    with labelled_file.open("rb") as data, django_capture_on_commit_callbacks(execute=True):
        response = api_for(rita).post(
            "/api/training/evaluators/",
            {"name": "bad", "base_model": str(tiny_encoder), "data": data},
            format="multipart",
        )

    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.FAILED
    assert "line 241: json: not valid JSON" in job.error
    assert not ModelArtifact.objects.exists()


def test_scoring_needs_at_least_one_item(api_for, rita, db):
    artifact = ModelArtifact.objects.create(
        kind="evaluator", name="x", path="/nowhere", base_model="m"
    )

    response = api_for(rita).post(
        f"/api/training/evaluators/{artifact.pk}/score/", {"items": []}, format="json"
    )

    assert response.status_code == 400
    assert "items" in response.json()


def test_scoring_more_pairs_than_the_cap_is_refused_naming_the_field(api_for, rita, adam, db):
    from training.researcher_api import SCORE_MAX_ITEMS

    artifact = ModelArtifact.objects.create(
        kind="evaluator", name="x", path="/nowhere", base_model="m"
    )
    pair = {"prompt": "p", "response": "r"}

    response = api_for(adam).post(
        f"/api/training/evaluators/{artifact.pk}/score/",
        {"items": [pair] * (SCORE_MAX_ITEMS + 1)},
        format="json",
    )

    assert response.status_code == 400
    assert f"items: at most {SCORE_MAX_ITEMS} pairs" in json.dumps(response.json())


def test_a_participant_cannot_score_with_an_evaluator(api_for, alice, db):
    artifact = ModelArtifact.objects.create(
        kind="evaluator", name="x", path="/nowhere", base_model="m"
    )

    response = api_for(alice).post(
        f"/api/training/evaluators/{artifact.pk}/score/",
        {"items": [{"prompt": "p", "response": "r"}]},
        format="json",
    )

    assert response.status_code == 403


def test_an_alignment_with_an_unknown_policy_is_refused_by_the_api_naming_it(
    api_for, rita, tiny_evaluator, tmp_path, settings_var
):
    from training import evaluator
    from training.models import Target
    from training.schemes import SCHWARTZ10

    artifact = ModelArtifact.objects.create(
        kind="evaluator",
        name="e",
        path=str(tiny_evaluator),
        base_model="m",
        card=evaluator.load_card(tiny_evaluator),
    )
    target = Target.objects.create(
        owner=rita, name="t", kind="preset", vector={k: 0 for k in SCHWARTZ10}
    )
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "a"}\n{"prompt": "b"}\n')

    with prompts.open("rb") as upload:
        response = api_for(rita).post(
            "/api/training/alignments/",
            {
                "name": "x",
                "evaluator": artifact.pk,
                "policy": "/no/such/policy",
                "target": target.pk,
                "prompts": upload,
            },
            format="multipart",
        )

    assert response.status_code == 400
    assert "/no/such/policy" in json.dumps(response.json())
    assert not Job.objects.exists()


def test_a_refused_training_request_leaves_no_uploaded_file_behind(
    api_for, rita, labelled_file, settings_var
):
    with labelled_file.open("rb") as data:
        response = api_for(rita).post(
            "/api/training/evaluators/",
            {"name": "x", "base_model": "/no/encoder", "data": data},
            format="multipart",
        )

    assert response.status_code == 400
    assert "no such model folder" in str(response.json())
    assert not Job.objects.exists()
    saved = [path for path in settings_var.rglob("*.jsonl") if path != labelled_file]
    assert saved == [], "the refused upload stayed on disk"
