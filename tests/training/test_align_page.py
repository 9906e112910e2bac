"""The align page writes one prompts file per started job: none for a repeat, none for a refusal."""

import json
from pathlib import Path

import pytest

from annotation.models import Item, Project
from core.models import Job, ValueScheme
from training import evaluator
from training.alignment import read_prompts
from training.models import ModelArtifact, Target
from training.schemes import SCHWARTZ10

FULCRA = {key: 0.0 for key in SCHWARTZ10} | {
    key: 1.0 for key in ("security", "conformity", "benevolence", "universalism", "achievement")
}


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def evaluator_artifact(db, tiny_evaluator):
    return ModelArtifact.objects.create(
        kind="evaluator",
        name="tiny-eval",
        path=str(tiny_evaluator),
        scheme="schwartz10",
        base_model="tiny",
        card=evaluator.load_card(tiny_evaluator),
    )


@pytest.fixture
def fulcra_target(rita):
    return Target.objects.create(owner=rita, name="FULCRA", kind="preset", vector=FULCRA)


@pytest.fixture
def project(db):
    scheme = ValueScheme.objects.get(key="schwartz10")
    project = Project.objects.create(name="Advice", slug="advice", scheme=scheme)
    for index in range(4):
        Item.objects.create(
            project=project, external_id=f"i{index}", prompt=f"Is it safe {index}?", response="r"
        )
    return project


def align_form(evaluator_artifact, fulcra_target, tiny_policy, **source) -> dict:
    return {
        "key": "double-click",
        "name": "caring",
        "evaluator": evaluator_artifact.pk,
        "policy": str(tiny_policy),
        "target": fulcra_target.pk,
        "steps": 1,
        "num_generations": 2,
        "max_completion_length": 8,
        "report_prompts": 1,
        "distance": "l2",
        **source,
    }


def prompts_files(var_dir) -> list[Path]:
    return sorted(Path(var_dir).rglob("*.jsonl"))


def test_a_double_submitted_upload_starts_one_job_with_one_prompts_file(
    rita_client,
    evaluator_artifact,
    fulcra_target,
    tiny_policy,
    tmp_path,
    var_dir,
    django_capture_on_commit_callbacks,
):
    upload = tmp_path / "prompts.jsonl"
    upload.write_text("".join(json.dumps({"prompt": f"Question {i}?"}) + "\n" for i in range(3)))

    responses = []
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(2):
            with upload.open("rb") as file:
                form = align_form(evaluator_artifact, fulcra_target, tiny_policy, file=file)
                responses.append(rita_client.post("/training/align/", form))

    first, second = responses
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    job = Job.objects.get()
    assert prompts_files(var_dir) == [Path(job.params["prompts"])], "one file, the job's"
    assert read_prompts(job.params["prompts"]) == ["Question 0?", "Question 1?", "Question 2?"]


def test_a_repeated_submit_from_a_project_leaves_the_started_jobs_prompts_untouched(
    rita_client,
    evaluator_artifact,
    fulcra_target,
    tiny_policy,
    project,
    var_dir,
    django_capture_on_commit_callbacks,
):
    form = align_form(evaluator_artifact, fulcra_target, tiny_policy, project=project.pk)
    with django_capture_on_commit_callbacks(execute=False):
        first = rita_client.post("/training/align/", form)
        # The project gains an item before the form is sent again (a retried POST).
        Item.objects.create(
            project=project, external_id="late", prompt="Arrived late?", response="r"
        )
        second = rita_client.post("/training/align/", form)

    assert first["Location"] == second["Location"]
    job = Job.objects.get()
    assert prompts_files(var_dir) == [Path(job.params["prompts"])], "one file, the job's"
    assert read_prompts(job.params["prompts"]) == [f"Is it safe {i}?" for i in range(4)]
    assert job.params["n_prompts"] == 4


def test_a_refused_align_form_leaves_no_prompts_file_behind(
    rita_client, evaluator_artifact, fulcra_target, tmp_path, project, var_dir
):
    form = align_form(evaluator_artifact, fulcra_target, tmp_path / "no-model", project=project.pk)

    response = rita_client.post("/training/align/", form)

    assert response.status_code == 200
    assert "no such model folder" in response.content.decode()
    assert not Job.objects.exists()
    assert prompts_files(var_dir) == [], "a refused form must not leave its prompts on disk"
