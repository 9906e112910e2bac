"""Long work stops when asked: an evolve job and a profile run, also while they are scoring."""

import pytest

from core.models import Job
from evaluation.models import ItemPool, Response, Run
from evaluation.services import (
    EVOLVE_JOB,
    pool_import,
    run_create,
    run_start,
    scoring,
    subject_create,
)
from tests.evaluation.conftest import CAREFUL, script
from tests.evaluation.factories import running_evolve_job
from training.models import ModelArtifact

pytestmark = pytest.mark.django_db


@pytest.fixture
def evaluator(evaluator_dir):
    return ModelArtifact.objects.create(
        kind="evaluator", name="tiny", path=str(evaluator_dir), scheme="schwartz10"
    )


@pytest.fixture
def click_while_scoring(monkeypatch):
    """Make the first scored batch "click" the given URL first (a researcher pressing Cancel
    while the job scores); return the list of the messages the job showed at that moment."""
    seen: list[str] = []

    def install(client, url_of, job_of):
        loaded = scoring.evaluator_loaded

        def evaluator_loaded(path):
            model = loaded(path)
            score = model.score

            def score_after_a_click(pairs, **kwargs):
                if not seen:
                    seen.append(job_of().message)
                    client.post(url_of())
                return score(pairs, **kwargs)

            monkeypatch.setattr(model, "score", score_after_a_click)
            return model

        monkeypatch.setattr(scoring, "evaluator_loaded", evaluator_loaded)
        return seen

    return install


def test_the_evolve_page_shows_a_running_jobs_progress_with_a_cancel_button(rita_client, rita):
    job = running_evolve_job(rita, "Round 2: scoring careful's 9 answers.")

    page = rita_client.get("/evaluation/evolve/").content.decode()
    assert "Round 2: scoring careful&#x27;s 9 answers." in page
    assert "1 of 3 rounds done" in page
    assert f"/evaluation/evolve/{job.pk}/cancel/" in page
    polled = rita_client.get("/evaluation/evolve/", headers={"HX-Request": "true"})
    assert polled.content.decode().lstrip().startswith('<div id="evolve-jobs"')
    assert 'hx-trigger="every 2s"' in polled.content.decode()


def test_an_evolve_job_cancelled_while_scoring_stops_there_and_makes_no_pool(
    rita_client,
    llm_double,
    subjects,
    evaluator,
    eager_jobs,
    django_capture_on_commit_callbacks,
    click_while_scoring,
):
    seeds, _ = pool_import(name="seeds", data='{"prompt": "Lock the door?", "value": "security"}')
    llm_double.reply_json({"prompts": [f"Prompt {i}: what about the house?" for i in range(3)]})
    job_of = lambda: Job.objects.get(kind=EVOLVE_JOB)  # noqa: E731  (its id: once it started)
    seen = click_while_scoring(
        rita_client, lambda: f"/evaluation/evolve/{job_of().pk}/cancel/", job_of
    )

    with django_capture_on_commit_callbacks(execute=True):
        started = rita_client.post(
            "/evaluation/evolve/",
            {
                "pool": seeds.pk,
                "subjects": [s.pk for s in subjects],
                "evaluator": evaluator.pk,
                "value": "security",
                "rounds": 3,
                "keep": 2,
                "max_calls": 100,
            },
        )

    assert started.status_code == 302
    assert seen and "scoring careful" in seen[0]
    job = Job.objects.get(kind=EVOLVE_JOB)
    assert job.status == Job.Status.CANCELLED
    assert not ItemPool.objects.filter(provenance=ItemPool.Provenance.GENERATED).exists()
    assert len(llm_double.chat_requests) == 1  # no second round was asked for
    page = rita_client.get("/evaluation/evolve/").content.decode()
    assert "Cancelled" in page and f"/evaluation/evolve/{job.pk}/cancel/" not in page


def test_a_profile_run_cancelled_while_scoring_keeps_its_answers_and_resumes(
    api_for,
    rita,
    rita_client,
    careful,
    evaluator,
    eager_jobs,
    django_capture_on_commit_callbacks,
    click_while_scoring,
):
    subject = subject_create(name="careful", kind="endpoint", endpoint=careful.url, model="m")
    pool, _ = pool_import(name="house", data="\n".join(f'{{"prompt": "Q{i}?"}}' for i in range(4)))
    script(careful, CAREFUL, 4)
    run = run_create(subject=subject, pool=pool, evaluator_path=evaluator.path)
    cancel_url = f"/evaluation/runs/{run.pk}/cancel/"
    seen = click_while_scoring(rita_client, lambda: cancel_url, lambda: Run.objects.get(pk=run.pk))

    with django_capture_on_commit_callbacks(execute=True):
        run_start(run=run, created_by=rita)

    run.refresh_from_db()
    assert seen and seen[0].startswith("Scoring")
    assert run.status == Run.Status.CANCELLED
    assert Response.objects.filter(subject=subject, status="ok").count() == 4
    client = api_for(rita)
    with django_capture_on_commit_callbacks(execute=True):
        resumed = client.post(f"/api/evaluation/runs/{run.pk}/resume/")
    assert resumed.status_code in (200, 202), resumed.json()
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.profile["n"] == 4
    assert len(careful.chat_requests) == 4  # the answers were not asked for again
