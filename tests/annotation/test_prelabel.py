"""Pre-labels: the job asks the LLM for every item, records failures per item, and retries."""

import pytest
from django.db import connection

from annotation.models import Item, Prelabel
from annotation.prelabel import prelabel_start
from annotation.prelabel_prompt import PROMPT_VERSION
from annotation.selectors.prelabels import KIND, items_pending_prelabel, prelabel_status
from core.job_worker import job_execute
from core.models import Job, LLMCall
from tests.annotation.factories import SCHWARTZ10, ItemFactory, ProjectFactory, labels

pytestmark = pytest.mark.django_db


def answer(**given: int) -> dict:
    """Return a model answer: the given labels (0 elsewhere), each with a reason."""
    return {
        key: {"label": value, "rationale": f"Because of {key}."}
        for key, value in labels(**given).items()
    }


@pytest.fixture
def one_at_a_time(settings):
    # One request at a time makes the double's FIFO replies land on items in id order.
    settings.ANNOTATION_PRELABEL_CONCURRENCY = 1


@pytest.fixture
def project(db):
    project = ProjectFactory(prelabel=True)
    for n in range(3):
        ItemFactory(project=project, external_id=f"i{n}", prompt=f"Question {n}?")
    return project


def run(job: Job, retries: int = 0) -> Job:
    job_execute(str(job.pk), retries=retries)
    job.refresh_from_db()
    return job


def test_job_labels_every_item_with_rationales_model_and_prompt_version(
    project, rita, llm_double, one_at_a_time
):
    llm_double.reply_json(answer(benevolence=1))
    llm_double.reply_json(answer(power=-1, security=1))
    llm_double.reply_json(answer())

    job = run(prelabel_start(project=project, created_by=rita))

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["labelled"] == 3 and job.result["failed"] == 0
    assert (job.progress_done, job.progress_total) == (3, 3)
    first, second, third = (
        Item.objects.get(project=project, external_id=f"i{n}") for n in range(3)
    )
    assert first.prelabel.labels == labels(benevolence=1)
    assert second.prelabel.labels == labels(power=-1, security=1)
    assert second.prelabel.rationales["power"] == "Because of power."
    assert "power: Because of power." in second.prelabel.rationale
    assert third.prelabel.rationale == "No value is at stake in this response."
    assert first.prelabel.model == "gpt-4o-mini"
    assert first.prelabel.prompt_version == PROMPT_VERSION
    assert first.prelabel.labeller == "llm"
    assert LLMCall.objects.filter(purpose="annotation.prelabel").count() == 3


def test_prompt_gives_every_dimension_with_its_definition_and_asks_for_the_scheme(
    project, rita, llm_double, one_at_a_time
):
    run(prelabel_start(project=project, created_by=rita))

    request = llm_double.chat_requests[0]
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    for dimension in project.scheme.dimensions.all():
        assert f"- {dimension.key} ({dimension.name}):" in system
        assert " ".join(dimension.definition.split())[:60] in system
    assert "Question 0?" in user and "An answer." in user
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["required"] == SCHWARTZ10


def test_a_reply_that_never_validates_is_recorded_on_its_item_and_the_others_go_on(
    project, rita, llm_double, one_at_a_time, settings
):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 2
    llm_double.reply_json(answer(hedonism=1))
    llm_double.malformed()
    llm_double.reply_json({"benevolence": {"label": 2, "rationale": "out of range"}})
    llm_double.reply_json(answer(tradition=1))

    job = run(prelabel_start(project=project, created_by=rita))

    assert job.status == Job.Status.SUCCEEDED
    assert job.result["labelled"] == 2 and job.result["failed"] == 1
    failed = Item.objects.get(project=project, external_id="i1")
    assert not Prelabel.objects.filter(item=failed).exists()
    assert failed.prelabel_error.startswith("LLMInvalidOutput")
    assert failed.prelabel_attempts == 1
    assert prelabel_status(project=project) == {
        "items": 3,
        "labelled": 2,
        "failed": 1,
        "pending": 0,
    }
    assert Item.objects.get(project=project, external_id="i2").prelabel.labels == labels(
        tradition=1
    )


def test_retry_failed_asks_again_only_for_the_failed_items(
    project, rita, llm_double, one_at_a_time, settings
):
    settings.VALUELAB_LLM_STRUCTURED_ATTEMPTS = 1
    llm_double.reply_json(answer())
    llm_double.malformed()
    llm_double.reply_json(answer())
    run(prelabel_start(project=project, created_by=rita))
    assert items_pending_prelabel(project=project, only_failed=True) == [
        Item.objects.get(project=project, external_id="i1").pk
    ]
    llm_double.reset()

    llm_double.reply_json(answer(achievement=1))
    job = run(prelabel_start(project=project, created_by=rita, only_failed=True))

    assert job.status == Job.Status.SUCCEEDED
    assert len(llm_double.chat_requests) == 1
    assert "Question 1?" in llm_double.chat_requests[0]["messages"][1]["content"]
    retried = Item.objects.get(project=project, external_id="i1")
    assert retried.prelabel.labels == labels(achievement=1)
    assert retried.prelabel_error == "" and retried.prelabel_attempts == 2


def test_running_again_never_makes_a_second_prelabel_or_a_second_call(
    project, rita, llm_double, one_at_a_time
):
    run(prelabel_start(project=project, created_by=rita))
    calls = len(llm_double.chat_requests)

    job = run(prelabel_start(project=project, created_by=rita))

    assert job.status == Job.Status.SUCCEEDED
    assert job.result["labelled"] == 0
    assert len(llm_double.chat_requests) == calls
    assert Prelabel.objects.filter(item__project=project).count() == 3


def test_a_429_is_waited_out_and_the_item_labelled(project, rita, llm_double, one_at_a_time):
    llm_double.fail(429, retry_after=0.01, message="Rate limit reached")
    llm_double.reply_json(answer(stimulation=1))

    job = run(prelabel_start(project=project, created_by=rita))

    assert job.status == Job.Status.SUCCEEDED
    first = Item.objects.get(project=project, external_id="i0")
    assert first.prelabel.labels == labels(stimulation=1)
    assert first.prelabel_error == ""


def test_an_outage_pauses_the_job_keeps_what_was_labelled_and_a_retry_finishes(
    project, rita, llm_double, one_at_a_time
):
    llm_double.reply_json(answer(universalism=1))
    # The fixture allows one retry: two 503s make the gateway give up on the second item.
    llm_double.fail(503, times=2)
    job = prelabel_start(project=project, created_by=rita)

    job = run(job)

    assert job.status == Job.Status.RETRYING
    assert "retrying" in job.message
    assert Prelabel.objects.filter(item__project=project).count() == 1
    # The item caught in the outage is not counted as the model's failure.
    assert not Item.objects.filter(project=project).exclude(prelabel_error="").exists()
    # Meanwhile a second start is the same job, not another one.
    assert prelabel_start(project=project, created_by=rita) == job

    job = run(job, retries=1)

    assert job.status == Job.Status.SUCCEEDED
    assert Prelabel.objects.filter(item__project=project).count() == 3
    assert (job.progress_done, job.progress_total) == (3, 3)


def test_starting_twice_while_queued_gives_the_same_job(project, rita):
    first = prelabel_start(project=project, created_by=rita)
    second = prelabel_start(project=project, created_by=rita)

    assert first == second
    assert Job.objects.filter(kind=KIND).count() == 1


def test_a_project_without_items_cannot_be_prelabelled(rita):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="no items"):
        prelabel_start(project=ProjectFactory(), created_by=rita)


# --- the API -----------------------------------------------------------------------------------


def test_researcher_starts_prelabelling_from_the_api_and_gets_the_job(
    project,
    rita,
    api_for,
    llm_double,
    one_at_a_time,
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    client = api_for(rita)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/annotation/projects/{project.pk}/prelabel/", {}, format="json"
        )

    assert response.status_code == 202
    assert response.json()["kind"] == KIND
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.SUCCEEDED
    status = client.get(f"/api/annotation/projects/{project.pk}/prelabel/").json()
    assert status == {"items": 3, "labelled": 3, "failed": 0, "pending": 0}


def test_participants_and_visitors_cannot_start_prelabelling(project, alice, api_for):
    url = f"/api/annotation/projects/{project.pk}/prelabel/"
    assert api_for(alice).post(url, {}, format="json").status_code == 403
    assert api_for(None).post(url, {}, format="json").status_code in (401, 403)
    assert not Job.objects.filter(kind=KIND).exists()


def test_starting_on_an_empty_project_is_a_400_naming_the_project(rita, api_for):
    empty = ProjectFactory()
    response = api_for(rita).post(
        f"/api/annotation/projects/{empty.pk}/prelabel/", {}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"project": ["The project has no items to pre-label yet."]}


# --- many requests in flight -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_many_requests_in_flight_label_every_item_once(rita, llm_double, settings):
    settings.ANNOTATION_PRELABEL_CONCURRENCY = 8
    llm_double.latency = 0.05
    project = ProjectFactory()
    for n in range(40):
        ItemFactory(project=project, external_id=f"c{n}")

    job = run(prelabel_start(project=project, created_by=rita))

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert Prelabel.objects.filter(item__project=project).count() == 40
    assert len(llm_double.chat_requests) == 40
    if connection.vendor != "sqlite":
        # Every call was recorded from its worker thread's own connection. (The in-memory test
        # SQLite shares one cache between connections and refuses a second writer at once, so
        # the gateway logs and drops some rows there; a SQLite file waits for the lock instead.)
        assert LLMCall.objects.filter(purpose="annotation.prelabel").count() == 40
    assert job.result == {
        "labelled": 40,
        "failed": 0,
        "model": "gpt-4o-mini",
        "prompt_version": PROMPT_VERSION,
    }
