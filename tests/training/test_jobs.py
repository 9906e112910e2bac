"""Researchers start alignment and scoring jobs from pages; refusals happen before starting."""

import json

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Item, Prelabel, Project
from core.models import Job, ValueScheme
from training import evaluator
from training.models import ModelArtifact, RunLog, Target
from training.schemes import SCHWARTZ10
from training.services import alignment_run, alignment_start, evaluator_labeller

FULCRA = {key: 0.0 for key in SCHWARTZ10} | {
    key: 1.0 for key in ("security", "conformity", "benevolence", "universalism", "achievement")
}


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def evaluator_artifact(db, tiny_evaluator):
    card = evaluator.load_card(tiny_evaluator)
    return ModelArtifact.objects.create(
        kind="evaluator",
        name="tiny-eval",
        path=str(tiny_evaluator),
        scheme="schwartz10",
        base_model="tiny",
        card=card,
    )


@pytest.fixture
def fulcra_target(rita):
    return Target.objects.create(owner=rita, name="FULCRA", kind="preset", vector=FULCRA)


@pytest.fixture
def prompts_file(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": f"Question {i}: what now?"}) for i in range(6)))
    return path


@pytest.fixture
def project(db):
    scheme = ValueScheme.objects.get(key="schwartz10")
    project = Project.objects.create(name="P", slug="p", scheme=scheme)
    for index in range(5):
        Item.objects.create(
            project=project,
            external_id=f"i{index}",
            prompt=f"Is it safe {index}?",
            response="Keep it locked and safe." if index % 2 else "That was cruel.",
        )
    return project


# --- Refusals before starting --------------------------------------------------------------------


def test_a_target_missing_a_dimension_is_refused_before_starting(
    rita, evaluator_artifact, tiny_policy, prompts_file, var_dir
):
    partial = Target.objects.create(
        owner=rita, name="partial", kind="slider", vector={k: 0 for k in SCHWARTZ10[:-1]}
    )

    with pytest.raises(ValidationError, match="partial: universalism: missing"):
        alignment_start(
            created_by=rita,
            evaluator_artifact=evaluator_artifact,
            policy=str(tiny_policy),
            target=partial,
            prompts_file=prompts_file,
            name="x",
        )
    assert not Job.objects.exists()


def test_an_unknown_policy_path_is_refused_before_starting(
    rita, evaluator_artifact, fulcra_target, prompts_file, tmp_path
):
    with pytest.raises(ValidationError, match="no such model folder"):
        alignment_start(
            created_by=rita,
            evaluator_artifact=evaluator_artifact,
            policy=str(tmp_path / "no-model-here"),
            target=fulcra_target,
            prompts_file=prompts_file,
            name="x",
        )
    assert not Job.objects.exists()


def test_empty_prompts_are_refused_before_starting(
    rita, evaluator_artifact, fulcra_target, tiny_policy, tmp_path
):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")

    with pytest.raises(ValidationError, match="the prompts file is empty"):
        alignment_start(
            created_by=rita,
            evaluator_artifact=evaluator_artifact,
            policy=str(tiny_policy),
            target=fulcra_target,
            prompts_file=empty,
            name="x",
        )
    assert not Job.objects.exists()


def test_the_align_page_shows_the_refusal_naming_the_field(
    rita_client, evaluator_artifact, fulcra_target, tmp_path, var_dir
):
    with (tmp_path / "p.jsonl").open("w") as handle:
        handle.write('{"prompt": "a"}\n{"prompt": "b"}\n')
    with (tmp_path / "p.jsonl").open("rb") as upload:
        response = rita_client.post(
            "/training/align/",
            {
                "key": "k1",
                "name": "try",
                "evaluator": evaluator_artifact.pk,
                "policy": "/nowhere/model",
                "target": fulcra_target.pk,
                "file": upload,
                "steps": 1,
                "num_generations": 2,
                "max_completion_length": 8,
                "report_prompts": 1,
                "distance": "l2",
            },
        )

    assert response.status_code == 200
    assert "/nowhere/model: no such model folder" in response.content.decode()
    assert not Job.objects.exists()


# --- The alignment job ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_researcher_aligns_a_policy_from_the_page_and_reads_the_report(
    rita_client,
    evaluator_artifact,
    fulcra_target,
    tiny_policy,
    prompts_file,
    var_dir,
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    with prompts_file.open("rb") as upload, django_capture_on_commit_callbacks(execute=True):
        response = rita_client.post(
            "/training/align/",
            {
                "key": "k2",
                "name": "caring",
                "evaluator": evaluator_artifact.pk,
                "policy": str(tiny_policy),
                "target": fulcra_target.pk,
                "file": upload,
                "steps": 2,
                "num_generations": 2,
                "max_completion_length": 8,
                "report_prompts": 2,
                "distance": "l2",
                "lora": "on",
            },
        )

    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCEEDED, job.error
    log = RunLog.objects.get(job=job)
    assert [row["step"] for row in log.metrics] == [1, 2]
    assert all(row["distance"] == pytest.approx(-row["reward"]) for row in log.metrics)
    policy = ModelArtifact.objects.get(kind="policy")
    assert policy.job == job and policy.path.startswith(str(var_dir))
    assert job.result["distance_before"] == policy.card["report"]["before"]["mean_distance"]

    run_page = rita_client.get(response["Location"]).content.decode()
    report = rita_client.get(f"/training/models/{policy.pk}/").content.decode()

    assert "Live metrics" in run_page and f"/training/models/{policy.pk}/" in run_page
    assert "Mean distance to the target" in report and "vector-chart" in report
    assert report.count('class="sample"') == 2


def test_a_job_stopped_mid_training_leaves_no_model_on_disk_or_registered(
    db, tiny_evaluator, tiny_policy, prompts_file, tmp_path
):
    class Killed(Exception):
        pass

    def die_at_the_first_step(step, total, message, metrics):
        if "reward" in metrics:
            raise Killed

    out = tmp_path / "policies" / "half"
    out.parent.mkdir()

    with pytest.raises(Killed):
        alignment_run(
            evaluator_dir=tiny_evaluator,
            policy=str(tiny_policy),
            prompts_file=prompts_file,
            target=FULCRA,
            out=out,
            steps=2,
            num_generations=2,
            max_completion_length=4,
            report_prompts=1,
            progress=die_at_the_first_step,
        )

    assert not out.exists()
    assert list(out.parent.iterdir()) == []  # the scratch folder went too
    assert not ModelArtifact.objects.exists()


def test_two_evaluators_saved_under_one_name_never_clobber_each_other(tiny_evaluator, tmp_path):
    loaded = evaluator.load(tiny_evaluator)
    config = evaluator.TrainConfig(**loaded.card["config"])
    report = evaluator.TrainReport(metrics={"first": True})
    out = tmp_path / "same-name"
    evaluator.save(
        loaded.model, loaded.tokenizer, out, config=config, report=report, dataset={"run": 1}
    )

    with pytest.raises(evaluator.EvaluatorError, match="exists already"):
        evaluator.save(
            loaded.model,
            loaded.tokenizer,
            out,
            config=config,
            report=evaluator.TrainReport(metrics={}),
            dataset={"run": 2},
        )

    assert evaluator.load_card(out)["dataset"] == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["same-name"]


# --- Scoring a project ---------------------------------------------------------------------------


def test_scoring_a_project_prelabels_each_item_once_and_keeps_llm_prelabels(
    rita_client,
    project,
    evaluator_artifact,
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    first, second = project.items.order_by("pk")[:2]
    Prelabel.objects.create(
        item=first, labels={"security": 1}, labeller="llm", model="gpt", prompt_version="v1"
    )

    def score(key: str, **extra) -> Job:
        form = {"key": key, "evaluator": evaluator_artifact.pk, "project": project.pk}
        form["batch_size"] = 32
        with django_capture_on_commit_callbacks(execute=True):
            response = rita_client.post("/training/score/", form | extra)
        assert response.status_code == 302
        return Job.objects.get(idempotency_key=f"training.score:{key}")

    job = score("s1", batch_size=2)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result == {"scored": 4, "skipped": 1}
    labellers = dict(Prelabel.objects.values_list("item_id", "labeller"))
    assert labellers[first.pk] == "llm"
    assert labellers[second.pk] == evaluator_labeller(evaluator_artifact) == "evaluator:tiny-eval"
    made = Prelabel.objects.get(item=second)
    assert set(made.labels) == set(SCHWARTZ10) and set(made.labels.values()) <= {-1, 0, 1}
    assert made.model == "tiny-eval" and made.prompt_version

    assert score("s2").result == {"scored": 0, "skipped": 5}
    assert score("s3", replace="on").result == {"scored": 4, "skipped": 1}
    assert Prelabel.objects.count() == 5
    assert Prelabel.objects.get(item=first).labeller == "llm"


def test_a_double_click_starts_one_scoring_job(
    rita_client, project, evaluator_artifact, django_capture_on_commit_callbacks
):
    form = {"key": "same", "evaluator": evaluator_artifact.pk, "project": project.pk}

    rita_client.post("/training/score/", form | {"batch_size": 8})
    rita_client.post("/training/score/", form | {"batch_size": 8})

    assert Job.objects.count() == 1


def test_participants_reach_no_training_page(alice_client, project, evaluator_artifact):
    for url in ["/training/models/", "/training/train/", "/training/align/", "/training/score/"]:
        assert alice_client.get(url).status_code == 302, url
    assert alice_client.get(f"/training/models/{evaluator_artifact.pk}/").status_code == 302
