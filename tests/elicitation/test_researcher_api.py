"""The researcher API: what scripts use to set up deliberations, de-duplicate and read grades."""

import pytest

from core.models import Job
from elicitation.models import Deliberation, MoralContext
from tests.elicitation.factories import DeliberationFactory, ValuesCardFactory

pytestmark = pytest.mark.django_db

BASE = "/api/elicitation/researcher"


def test_a_participant_gets_403_on_every_researcher_route(api_for, alice):
    card = ValuesCardFactory(deliberation=DeliberationFactory(name="d"))
    client = api_for(alice)
    for method, url in [
        ("post", f"{BASE}/deliberations/"),
        ("post", f"{BASE}/deliberations/d/dedup/"),
        ("get", f"{BASE}/deliberations/d/clusters/"),
        ("get", f"{BASE}/deliberations/d/dedup-decisions/"),
        ("post", f"{BASE}/cards/{card.pk}/split/"),
        ("get", f"{BASE}/deliberations/d/grades/"),
    ]:
        assert getattr(client, method)(url, {}, format="json").status_code == 403, url
    assert api_for(None).get(f"{BASE}/deliberations/d/clusters/").status_code in (401, 403)


def test_a_script_sets_up_a_deliberation_twice_and_gets_one(api_for, rita):
    client = api_for(rita)
    body = {"name": "faith", "title": "Faith", "welcome_text": "Hi"}
    assert client.post(f"{BASE}/deliberations/", body, format="json").status_code == 201
    assert client.post(f"{BASE}/deliberations/", body, format="json").status_code == 200
    scenario = client.post(
        f"{BASE}/deliberations/faith/scenarios/", {"question": "Should I?"}, format="json"
    )
    assert scenario.status_code == 201
    again = client.post(
        f"{BASE}/deliberations/faith/scenarios/", {"question": "Should I?"}, format="json"
    )
    assert again.status_code == 200 and again.json()["id"] == scenario.json()["id"]
    context = client.post(
        f"{BASE}/deliberations/faith/contexts/",
        {"text": "When in distress", "scenario": scenario.json()["id"]},
        format="json",
    )
    assert context.status_code == 201
    assert context.json()["scenarios"] == [scenario.json()["id"]]
    assert Deliberation.objects.count() == 1 and MoralContext.objects.count() == 1

    bad = client.post(f"{BASE}/deliberations/", {"name": "bad name!", "title": ""}, format="json")
    assert bad.status_code == 400 and {"name", "title"} <= set(bad.json())


def test_dedup_through_the_api_then_split_and_merge_with_reasons(
    api_for, rita, llm_double, eager_jobs, django_capture_on_commit_callbacks
):
    deliberation = DeliberationFactory(name="d")
    words = {"description": "Tell the truth gently.", "policies": ["TRUTHS people need"]}
    first = ValuesCardFactory(deliberation=deliberation, title="Kind honesty", **words)
    second = ValuesCardFactory(deliberation=deliberation, title="Kind honesty", **words)
    llm_double.reply_json({"same": True, "reason": "Identical."})
    client = api_for(rita)

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            f"{BASE}/deliberations/d/dedup/",
            {"threshold": 0.9},
            format="json",
            headers={"Idempotency-Key": "abc"},
        )
        repeat = client.post(
            f"{BASE}/deliberations/d/dedup/", {}, format="json", headers={"Idempotency-Key": "abc"}
        )
    assert started.status_code == repeat.status_code == 202
    assert started.json()["id"] == repeat.json()["id"]
    assert Job.objects.get().status == Job.Status.SUCCEEDED

    clusters = client.get(f"{BASE}/deliberations/d/clusters/?min_size=2").json()
    assert len(clusters) == 1 and clusters[0]["canonical"]["id"] == first.pk
    member = clusters[0]["members"][0]
    assert member["card"]["id"] == second.pk and member["card"]["canonical_id"] == first.pk
    assert member["similarity"] == pytest.approx(1.0)

    no_reason = client.post(f"{BASE}/cards/{second.pk}/split/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    split = client.post(f"{BASE}/cards/{second.pk}/split/", {"reason": "Not the same."})
    assert split.json()["canonical_id"] == second.pk
    merge = client.post(
        f"{BASE}/cards/{second.pk}/merge/", {"into": first.pk, "reason": "Same after all."}
    )
    assert merge.json()["canonical_id"] == first.pk
    decisions = client.get(f"{BASE}/deliberations/d/dedup-decisions/").json()
    assert [(d["action"], d["source"], d["reason"]) for d in decisions] == [
        ("merge", "researcher", "Same after all."),
        ("split", "researcher", "Not the same."),
        ("merge", "llm", "Identical."),
    ]
    assert decisions[0]["decided_by"] == "rita" and decisions[2]["decided_by"] is None


def test_grades_read_through_the_api_per_prompt_version(api_for, rita):
    DeliberationFactory(name="d")
    response = api_for(rita).get(f"{BASE}/deliberations/d/grades/")
    assert response.status_code == 200
    assert response.json() == {"grader_version": "interview-rubric/1", "prompts": []}
