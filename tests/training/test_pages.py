"""Researchers train evaluators from a project or a file and read their metrics on pages."""

import json
from pathlib import Path

import pytest
from django.template.defaultfilters import floatformat

from annotation.models import Item, Project
from core.models import Job, ValueScheme
from tests.training.conftest import synthetic_rows
from training import evaluator
from training.models import ModelArtifact, RunLog
from training.schemes import SCHWARTZ10
from training.services import project_training_file


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def labelled_project(db):
    scheme = ValueScheme.objects.get(key="schwartz10")
    project = Project.objects.create(name="Cues", slug="cues", scheme=scheme)
    for row in synthetic_rows(80):
        Item.objects.create(
            project=project,
            external_id=row["id"],
            prompt=row["prompt"],
            response=row["response"],
            reference_labels=row["labels"],
        )
    Item.objects.create(project=project, external_id="unlabelled", prompt="q", response="r")
    return project


def test_a_researcher_trains_an_evaluator_from_a_project_and_follows_the_job(
    rita_client,
    labelled_project,
    tiny_encoder,
    var_dir,
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    form = {
        "key": "t1",
        "name": "from-project",
        "base_model": str(tiny_encoder),
        "project": labelled_project.pk,
        "epochs": 1,
        "batch_size": 16,
        "max_steps": 3,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = rita_client.post("/training/train/", form)

    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.params["source"] == {"project": "cues"}
    assert job.result["data"] == {"items": 80, "unlabelled": 1}
    assert [row["step"] for row in RunLog.objects.get(job=job).metrics] == [1, 2, 3]
    artifact = ModelArtifact.objects.get()
    run_page = rita_client.get(response["Location"]).content.decode()
    assert "metrics-chart" in run_page and f"/training/models/{artifact.pk}/" in run_page


def test_an_unknown_base_model_is_refused_on_the_form(rita_client, labelled_project, var_dir):
    response = rita_client.post(
        "/training/train/",
        {
            "key": "t2",
            "name": "x",
            "base_model": "/no/encoder",
            "project": labelled_project.pk,
            "epochs": 1,
            "batch_size": 4,
        },
    )

    assert response.status_code == 200
    assert "/no/encoder: no such model folder" in response.content.decode()
    assert not Job.objects.exists()


def test_the_form_needs_a_project_or_a_file(rita_client, var_dir):
    response = rita_client.post(
        "/training/train/",
        {"key": "t3", "name": "x", "base_model": "m", "epochs": 1, "batch_size": 4},
    )

    assert "Choose an annotation project or upload a file" in response.content.decode()


def test_the_registry_lists_models_with_metrics_beside_the_baseline(rita_client, tiny_evaluator):
    card = evaluator.load_card(tiny_evaluator)
    artifact = ModelArtifact.objects.create(
        kind="evaluator", name="tiny-eval", path=str(tiny_evaluator), base_model="t", card=card
    )
    overall = card["metrics"]["test"]["overall"]

    listing = rita_client.get("/training/models/").content.decode()
    detail = rita_client.get(f"/training/models/{artifact.pk}/").content.decode()

    assert "tiny-eval" in listing
    shown = (
        f"{floatformat(overall['macro_f1'], 3)} ({floatformat(overall['baseline_macro_f1'], 3)})"
    )
    assert shown in listing
    # The registry row gives each figure's interval and the test size it rests on.
    low, high = overall["macro_f1_ci"]
    assert f"{floatformat(low, 3)}–{floatformat(high, 3)}" in listing
    assert f"{overall['n']} labels" in listing
    assert f"over {len(overall['supported'])} value" in listing
    assert 'id="dimension-table"' in detail and detail.count('class="confusion"') == 10
    assert "f1-chart" in detail and "history-chart" in detail
    # The headline says which values it averages, with intervals; no dict is shown raw.
    assert overall["supported"] and "macro_f1_ci" in overall
    named = ", ".join(overall["supported"])
    assert f"(at least one test label that is not 0): {named}." in detail
    assert "95% interval" in detail and 'id="split-table"' in detail
    assert "{'" not in detail and "{&#x27;" not in detail


def test_a_double_submit_starts_one_job_and_the_job_writes_the_project_file(
    rita_client,
    labelled_project,
    tiny_encoder,
    var_dir,
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    form = {
        "key": "twice",
        "name": "from-project",
        "base_model": str(tiny_encoder),
        "project": labelled_project.pk,
        "epochs": 1,
        "batch_size": 16,
        "max_steps": 1,
    }
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first = rita_client.post("/training/train/", form)
        second = rita_client.post("/training/train/", form)

    assert first["Location"] == second["Location"]
    job = Job.objects.get()
    data = Path(job.params["data"])
    # Nothing written on the requests: the queued job writes its own file when it runs.
    assert not data.exists()
    assert not [path for path in Path(var_dir).rglob("*.jsonl")]

    for callback in queued[:1]:
        callback()

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    lines = data.read_text().splitlines()
    assert len(lines) == 80 and job.result["data"]["items"] == 80
    assert "Wrote 80 items of cues" in " ".join(RunLog.objects.get(job=job).lines)


def test_the_project_training_file_vector_follows_the_reference_labels(labelled_project, tmp_path):
    path = tmp_path / "train.jsonl"

    counts = project_training_file(project=labelled_project, path=path)

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert counts == {"items": 80, "unlabelled": 1}
    for record in records:
        assert record["vector"] == [record["labels"][key] for key in SCHWARTZ10]
    assert any(any(record["vector"]) for record in records)


def test_a_double_submitted_upload_trains_once_and_keeps_one_file(
    rita_client, labelled_file, tiny_encoder, var_dir
):
    def submit():
        with labelled_file.open("rb") as data:
            return rita_client.post(
                "/training/train/",
                {
                    "key": "double",
                    "name": "from-file",
                    "base_model": str(tiny_encoder),
                    "file": data,
                    "epochs": 1,
                    "batch_size": 4,
                },
            )

    first, second = submit(), submit()

    job = Job.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert sorted(Path(var_dir).rglob("*.jsonl")) == [Path(job.params["data"])]


def test_a_refused_upload_leaves_no_file_behind(rita_client, labelled_file, var_dir):
    with labelled_file.open("rb") as data:
        response = rita_client.post(
            "/training/train/",
            {
                "key": "t4",
                "name": "x",
                "base_model": "/no/encoder",
                "file": data,
                "epochs": 1,
                "batch_size": 4,
            },  # fmt: skip
        )

    assert "no such model folder" in response.content.decode()
    assert not Job.objects.exists()
    assert list(Path(var_dir).rglob("*.jsonl")) == []


def test_model_pages_name_base_models_without_server_paths(rita_client, tiny_evaluator, settings):
    from training.templatetags.model_names import _alias_folders

    card = evaluator.load_card(tiny_evaluator)
    folder = f"{settings.VAR_DIR}/models/some-encoder"
    card.setdefault("config", {})["base_model"] = folder
    artifact = ModelArtifact.objects.create(
        kind="evaluator", name="pathless", path=str(tiny_evaluator), base_model=folder, card=card
    )
    aliased = next(iter(_alias_folders().items()), None)

    listing = rita_client.get("/training/models/").content.decode()
    detail = rita_client.get(f"/training/models/{artifact.pk}/").content.decode()

    for page in (listing, detail):
        assert "some-encoder" in page
        assert str(settings.VAR_DIR) not in page and str(tiny_evaluator) not in page
    if aliased:
        artifact.base_model = aliased[0]
        artifact.save()
        assert f"<code>{aliased[1]}</code>" in rita_client.get("/training/models/").content.decode()


@pytest.mark.parametrize("skip", [False, True])
def test_an_upload_with_bad_lines_names_every_one_and_skip_invalid_trains_on_the_rest(
    rita_client,
    tiny_encoder,
    var_dir,
    eager_jobs,
    django_capture_on_commit_callbacks,
    tmp_path,
    skip,
):
    rows = [json.dumps(row) for row in synthetic_rows(40)]
    rows[4] = "{oops"  # line 5: not JSON
    rows[11] = json.dumps(synthetic_rows(40)[11] | {"labels": {"power": 7}})  # line 12: bad label
    path = tmp_path / "upload.jsonl"
    path.write_text("\n".join(rows) + "\n")
    form = {"key": f"bad-{skip}", "name": "bad-lines", "base_model": str(tiny_encoder)}
    form |= {"epochs": 1, "batch_size": 8, "max_steps": 1} | (
        {"skip_invalid": "on"} if skip else {}
    )
    with path.open("rb") as data, django_capture_on_commit_callbacks(execute=True):
        response = rita_client.post("/training/train/", form | {"file": data})

    job = Job.objects.get()
    run_page = rita_client.get(response["Location"]).content.decode()
    if not skip:
        assert job.status == Job.Status.FAILED
        assert "2 of 40 lines cannot be read" in job.error
        assert "line 5: json" in job.error and "line 12: labels.power" in job.error
        assert "line 5: json" in run_page and "line 12: labels.power" in run_page
        assert not ModelArtifact.objects.exists()
    else:
        assert job.status == Job.Status.SUCCEEDED, job.error
        skipped = [line for line in RunLog.objects.get(job=job).lines if "Skipped" in str(line)]
        assert len(skipped) == 2
        assert "Skipped line 5: json" in run_page and "Skipped line 12: labels.power" in run_page
        assert ModelArtifact.objects.get().card["dataset"]["sizes"]
