"""De-duplication through a real Celery worker: the worker finds elicitation's job types.

Skipped unless CELERY_BROKER_URL names a broker and the database is PostgreSQL (as on CI).
"""

import pytest

from core.models import Job
from elicitation.models import DedupDecision
from tests.core.test_worker import NEEDS_WORKER, wait_until_finished, worker  # noqa: F401
from tests.elicitation.factories import DeliberationFactory, ValuesCardFactory

pytestmark = [NEEDS_WORKER, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_dedup_job_started_through_the_api_runs_on_a_real_worker(worker, rita, api_for):  # noqa: F811
    deliberation = DeliberationFactory(name="d")
    words = {"description": "Tell the truth gently.", "policies": ["TRUTHS people need"]}
    first = ValuesCardFactory(deliberation=deliberation, title="Kind honesty", **words)
    second = ValuesCardFactory(deliberation=deliberation, title="Kind honesty", **words)
    worker.reply_json({"same": True, "reason": "Word for word the same."})

    response = api_for(rita).post("/api/elicitation/researcher/deliberations/d/dedup/")
    job = wait_until_finished(Job.objects.get(pk=response.json()["id"]))

    assert job.status == Job.Status.SUCCEEDED, job.error
    second.refresh_from_db()
    assert second.canonical_id == first.pk
    assert DedupDecision.objects.get().reason == "Word for word the same."
