"""The REST API starts the same work as profile_model, as a job; only researchers use it."""

import io
import json

import pytest

from evaluation.models import Run
from tests.evaluation.conftest import CAREFUL, script
from training.models import ModelArtifact
from training.schemes import SCHWARTZ10

pytestmark = pytest.mark.django_db


@pytest.fixture
def artifact(evaluator_dir):
    return ModelArtifact.objects.create(
        kind="evaluator",
        name="tiny",
        path=str(evaluator_dir.resolve()),
        scheme="schwartz10",
        base_model="tiny-bert",
    )


def upload(text: str, name: str = "prompts.jsonl") -> io.BytesIO:
    data = io.BytesIO(text.encode())
    data.name = name
    return data


def test_a_researcher_profiles_a_subject_through_the_api(
    api_for, rita, careful, artifact, eager_jobs, django_capture_on_commit_callbacks
):
    client = api_for(rita)
    subject = client.post(
        "/api/evaluation/subjects/",
        {"kind": "endpoint", "endpoint": careful.url, "model": "double-chat", "name": "careful"},
        format="json",
    )
    assert subject.status_code == 201, subject.json()
    lines = "\n".join(json.dumps({"prompt": f"Question {i}?"}) for i in range(5))
    pool = client.post("/api/evaluation/pools/", {"name": "house", "file": upload(lines)})
    assert pool.status_code == 201, pool.json()
    assert pool.json()["n_items"] == 5 and pool.json()["version"] == 1
    script(careful, CAREFUL, 5)

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            "/api/evaluation/runs/",
            {"subject": subject.json()["id"], "pool": pool.json()["id"], "evaluator": artifact.pk},
            format="json",
        )

    assert started.status_code == 202, started.json()
    run = client.get(f"/api/evaluation/runs/{started.json()['id']}/").json()
    assert run["status"] == "done", run["message"]
    assert run["profile"]["n"] == 5
    assert list(run["profile"]["values"]) == SCHWARTZ10
    assert run["job"]["status"] == "succeeded"


def test_the_same_file_again_makes_no_new_version_and_a_bad_line_is_named(api_for, rita):
    client = api_for(rita)
    lines = '{"prompt": "a"}\n{"prompt": "b"}\n'
    first = client.post("/api/evaluation/pools/", {"name": "p", "file": upload(lines)})
    again = client.post("/api/evaluation/pools/", {"name": "p", "file": upload(lines)})
    assert first.json()["id"] == again.json()["id"]

    bad = client.post("/api/evaluation/pools/", {"name": "p", "file": upload(lines + "{oops\n")})
    assert bad.status_code == 400
    assert "line 3" in json.dumps(bad.json())
    skipped = client.post(
        "/api/evaluation/pools/",
        {"name": "p", "file": upload(lines + "{oops\n"), "skip_invalid": True},
    )
    assert skipped.status_code == 201
    assert skipped.json()["version"] == 2
    assert skipped.json()["skipped"][0].startswith("line 3:")


def test_participants_and_visitors_cannot_use_the_api(api_for, alice):
    for client in (api_for(alice), api_for(None)):
        assert client.get("/api/evaluation/runs/").status_code in (401, 403)
        assert client.get("/api/evaluation/subjects/").status_code in (401, 403)


def test_a_paused_run_resumes_where_it_stopped(
    api_for, rita, careful, artifact, eager_jobs, django_capture_on_commit_callbacks, settings
):
    settings.VALUELAB_LLM_CONCURRENCY = 1
    client = api_for(rita)
    subject = client.post(
        "/api/evaluation/subjects/",
        {"kind": "endpoint", "endpoint": careful.url, "model": "m"},
        format="json",
    ).json()
    lines = "\n".join(json.dumps({"prompt": f"Question {i}?"}) for i in range(4))
    pool = client.post("/api/evaluation/pools/", {"file": upload(lines)}).json()
    script(careful, CAREFUL, 2)
    careful.fail(status=503, times=4)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = client.post(
            "/api/evaluation/runs/",
            {"subject": subject["id"], "pool": pool["id"], "evaluator": artifact.pk},
            format="json",
        ).json()["id"]
    run = Run.objects.get(pk=run_id)
    assert run.status == Run.Status.PAUSED
    assert "resume" in run.message
    assert run.job.status == "failed"

    careful.reset()
    script(careful, CAREFUL, 2)
    with django_capture_on_commit_callbacks(execute=True):
        resumed = client.post(f"/api/evaluation/runs/{run_id}/resume/")
    assert resumed.status_code == 202
    run.refresh_from_db()
    assert run.status == Run.Status.DONE
    assert run.profile["n"] == 4
    assert len(careful.chat_requests) == 2
