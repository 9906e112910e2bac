"""Researcher pages: runs, profile, responses behind a figure, comparison, leaderboard, exports."""

import csv
import io
import json

import pytest

from tests.evaluation.factories import done_run
from training.models import Target
from training.schemes import SCHWARTZ10

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_runs():
    careful = done_run("careful", 0.8)
    reckless = done_run("reckless", -0.6, pool=careful.pool)
    return careful, reckless


@pytest.fixture
def security_target(rita):
    vector = {key: 1.0 if key == "security" else 0.0 for key in SCHWARTZ10}
    return Target.objects.create(name="Safety first", kind="slider", vector=vector, owner=rita)


def test_the_run_page_shows_the_profile_with_intervals_and_n(rita_client, two_runs):
    careful, _ = two_runs
    page = rita_client.get(f"/evaluation/runs/{careful.pk}/").content.decode()
    assert "8 responses scored" in page
    assert "[0.800, 0.800]" in page  # security's interval
    assert 'data-chart="profile-chart"' in page
    assert "<script>" not in page.replace('<script id="profile-chart" type="application/json">', "")


def test_participants_and_visitors_never_see_the_pages(alice_client, anon, two_runs):
    careful, _ = two_runs
    for client in (alice_client, anon):
        for url in (
            "/evaluation/",
            f"/evaluation/runs/{careful.pk}/",
            f"/evaluation/runs/{careful.pk}/responses/",
            "/evaluation/compare/",
            "/evaluation/leaderboard/",
            "/evaluation/profiles.csv",
            f"/evaluation/runs/{careful.pk}/responses.jsonl",
        ):
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url


def test_the_responses_behind_a_share_are_those_with_that_label(rita_client, two_runs):
    careful, reckless = two_runs
    upholding = rita_client.get(
        f"/evaluation/runs/{careful.pk}/responses/?value=security&label=1"
    ).content.decode()
    violating = rita_client.get(
        f"/evaluation/runs/{careful.pk}/responses/?value=security&label=-1"
    ).content.decode()
    assert "8 responses labelled 1 on security" in upholding
    assert "careful says &lt;b&gt;q0&lt;/b&gt;" in upholding  # escaped, shown as stored
    assert "0 responses labelled -1 on security" in violating
    assert "reckless" not in upholding


def test_the_comparison_shows_each_subject_with_its_interval(rita_client, two_runs):
    careful, reckless = two_runs
    page = rita_client.get(
        f"/evaluation/compare/?run={careful.pk}&run={reckless.pk}"
    ).content.decode()
    assert "careful" in page and "reckless" in page
    assert "0.800 <span" in page and "-0.600 <span" in page
    chart = page.split('<script id="compare-chart" type="application/json">')[1].split("</script>")[
        0
    ]
    series = json.loads(chart)["series"]
    assert [s["label"] for s in series] == ["careful (n=8)", "reckless (n=8)"]


def test_the_leaderboard_ranks_by_the_chosen_alignment(rita_client, two_runs, security_target):
    page = rita_client.get(f"/evaluation/leaderboard/?target={security_target.pk}").content.decode()
    assert page.index("careful") < page.index("reckless")
    # reckless is further from "security first" on both forms
    assert "0.200" in page  # careful's distance: |0.8 - 1|
    assert "[0.200, 0.200]" in page  # its interval: every answer of the run scored alike
    assert "95% interval" in page
    by_score = rita_client.get(
        f"/evaluation/leaderboard/?target={security_target.pk}&sort=weighted"
    ).content.decode()
    assert by_score.index("careful") < by_score.index("reckless")


def test_exports_give_profiles_as_csv_and_responses_with_labels_as_jsonl(rita_client, two_runs):
    careful, reckless = two_runs
    rows = list(
        csv.DictReader(io.StringIO(rita_client.get("/evaluation/profiles.csv").content.decode()))
    )
    assert len(rows) == 2 * len(SCHWARTZ10)
    security = [row for row in rows if row["value"] == "security" and row["subject"] == "careful"]
    assert security[0]["mean"] == "0.8" and security[0]["n"] == "8"

    response = rita_client.get(f"/evaluation/runs/{careful.pk}/responses.jsonl")
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert len(lines) == 8
    assert lines[0]["labels"]["security"] == 1
    assert lines[0]["response"] == "careful says <b>q0</b>"


def test_the_home_page_lists_runs_and_adds_a_subject_and_a_pool(rita_client, two_runs):
    page = rita_client.get("/evaluation/").content.decode()
    assert "careful" in page and "Done" in page
    added = rita_client.post(
        "/evaluation/",
        {
            "action": "subject",
            "kind": "endpoint",
            "name": "gpt",
            "model": "gpt-x",
            "temperature": 0,
            "max_tokens": 100,
        },
        follow=True,
    )
    assert "Added the subject “gpt”" in added.content.decode()
    upload = io.BytesIO(b'{"prompt": "a"}\nbroken\n')
    upload.name = "p.jsonl"
    refused = rita_client.post("/evaluation/", {"action": "pool", "file": upload}, follow=True)
    assert "line 2: line: not valid JSON" in refused.content.decode()


def test_the_evolve_page_says_what_it_is_and_lists_kept_items_with_their_history(
    rita_client, two_runs
):
    from evaluation.models import ItemPool
    from evaluation.pools import PoolLine
    from evaluation.services import pool_store

    careful, _ = two_runs
    pool_store(
        name="house (evolved)",
        lines=[
            PoolLine(
                key="k1",
                prompt="Would you <script>lock</script> it?",
                value="security",
                meta={"round": 2, "parent": "q1", "disagreement": 0.4321},
            )
        ],
        provenance=ItemPool.Provenance.GENERATED,
        parent=careful.pool,
        details={"calls": 12, "max_calls": 50},
    )
    page = rita_client.get("/evaluation/evolve/").content.decode()
    assert "not the Value Compass Leaderboard" in page
    assert "Would you &lt;script&gt;lock&lt;/script&gt; it?" in page
    assert "0.432" in page and "12 LLM calls of at most 50" in page


def test_evolving_needs_two_subjects(rita_client, two_runs):
    careful, _ = two_runs
    from training.models import ModelArtifact

    evaluator = ModelArtifact.objects.create(
        kind="evaluator", name="e", path="/nowhere", base_model="m"
    )
    page = rita_client.post(
        "/evaluation/evolve/",
        {
            "pool": careful.pool.pk,
            "subjects": [careful.subject.pk],
            "evaluator": evaluator.pk,
            "rounds": 2,
            "keep": 2,
            "max_calls": 20,
        },
    ).content.decode()
    assert "choose at least two subjects" in page
