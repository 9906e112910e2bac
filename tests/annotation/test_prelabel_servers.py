"""Pre-labelling against the servers researchers run, and against one that refuses every item."""

import pytest

from annotation.models import Item
from annotation.prelabel import prelabel_start
from annotation.selectors import prelabel_status
from core.job_worker import job_execute
from core.models import Job
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.llm_double import OpenAIDouble

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _requests_on_the_test_thread(settings):
    # Threads have their own database connections: their LLM call records would be committed
    # outside this test's transaction and stay behind for the tests that follow.
    settings.ANNOTATION_PRELABEL_CONCURRENCY = 1


@pytest.fixture
def project(db):
    project = ProjectFactory(prelabel=True)
    for n in range(3):
        ItemFactory(project=project, external_id=f"i{n}", prompt=f"Question {n}?")
    return project


def run(job: Job) -> Job:
    job_execute(str(job.pk), retries=0)
    job.refresh_from_db()
    return job


def test_every_item_is_prelabelled_on_every_server(project, rita, llm_server):
    job = run(prelabel_start(project=project, created_by=rita))

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert prelabel_status(project=project)["labelled"] == 3
    # llama-cpp-python refuses json_schema; each item asks at most once before json_object.
    assert llm_server.refusals.count("json_schema") <= 3
    assert "grammar_too_large" not in llm_server.refusals


def test_items_the_server_refuses_are_marked_failed_without_a_retry_storm(project, rita, settings):
    with OpenAIDouble(profile="vllm", context_tokens=20) as double:
        settings.OPENAI_BASE_URL = double.url
        job = run(prelabel_start(project=project, created_by=rita))
        requests = len(double.chat_requests)

    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["failed"] == 3
    assert requests == 3  # one refused request per item: nothing retried
    assert prelabel_status(project=project)["failed"] == 3
    errors = set(Item.objects.filter(project=project).values_list("prelabel_error", flat=True))
    assert len(errors) == 1
    (error,) = errors
    assert "longer than the model's context" in error and "Traceback" not in error
