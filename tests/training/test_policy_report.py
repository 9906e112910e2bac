"""Researchers read an alignment report they can believe: how many prompts, how sure the change
is, what saying nothing scores, how many answers were empty, and every response."""

import pytest

from training.models import ModelArtifact
from training.schemes import SCHWARTZ10

TARGET = {key: 0.0 for key in SCHWARTZ10} | {"benevolence": 1.0, "universalism": 1.0}


def side(
    distances: list[float], *, empty_share: float, engagement: float = 0.59, sameness: float = 0.09
) -> dict:
    n = len(distances)
    return {
        "n": n,
        "prompt_format": "chat",
        "mean_distance": round(sum(distances) / n, 4),
        "neutral_distance": 1.4142,
        "empty_answer_distance": 1.2341,
        "empty_share": empty_share,
        "truncated_share": 0.25,
        "repeated_share": 0.0,
        "engagement": engagement,
        "sameness": sameness,
        "mean_vector": {k: 0.1 for k in SCHWARTZ10},
        "label_shares": {k: {"1": 0.2, "0": 0.7, "-1": 0.1} for k in SCHWARTZ10},
        "samples": [
            {
                "prompt": f"Prompt number {i} <b>bold</b>?",
                "response": f"Answer {i}" if i else "",
                "distance": d,
                "empty": not i,
                "truncated": False,
                "repeated": False,
            }
            for i, d in enumerate(distances)
        ],
    }


def policy(change: dict | None, n: int = 23) -> ModelArtifact:
    number = ModelArtifact.objects.count()
    report = {
        "before": side([1.5] * n, empty_share=0.04),
        "after": side([1.2] * n, empty_share=0.0, engagement=0.06, sameness=0.82),
        "rewards": [-1.5, -1.3],
        "seconds": 60.0,
    }
    if change is not None:
        report["change"] = change
    return ModelArtifact.objects.create(
        kind="policy",
        name=f"smollm-caring-{number}",
        path=f"/tmp/none-{number}",
        base_model="smollm2-135m",
        card={
            "target": TARGET,
            "evaluator_dimensions": SCHWARTZ10,
            "config": {"distance": "l2"},
            "prompt_format": "chat",
            "reward": {"guard": "floor", "why": "An answer that says nothing scores no better."},
            "prompts": {"n": 100},
            "report": report,
        },
    )


def test_the_report_claims_closer_only_with_an_interval_below_zero(rita_client):
    sure = policy({"mean": -0.3, "ci": [-0.35, -0.25], "n": 23})
    unsure = policy({"mean": -0.3, "ci": [-0.7, 0.1], "n": 23})

    page = rita_client.get(f"/training/models/{sure.pk}/").content.decode()
    other = rita_client.get(f"/training/models/{unsure.pk}/").content.decode()

    assert '<span id="verdict" class="badge ok">closer</span>' in page
    assert "[-0.350, -0.250], over 23 held-out prompts" in page
    assert '<span id="verdict" class="badge ">no clear change</span>' in other
    assert "closer</span>" not in other


def test_a_report_without_an_interval_claims_nothing(rita_client):
    page = rita_client.get(f"/training/models/{policy(None).pk}/").content.decode()

    assert "no interval" in page and "the change may be noise" in page
    assert "badge ok" not in page


def test_the_report_shows_what_saying_nothing_scores_and_the_empty_share(rita_client):
    page = rita_client.get(
        f"/training/models/{policy({'mean': -0.3, 'ci': [-0.4, -0.2], 'n': 23}).pk}/"
    ).content.decode()

    assert "Saying nothing" in page and "1.414" in page and "1.234" in page
    assert '<td>Empty</td><td class="num">4%</td><td class="num">0%</td>' in page
    # A stock reply to every prompt shows even when the distance falls.
    assert '(prompt–answer cosine)</td><td class="num">0.59</td><td class="num">0.06</td>' in page
    assert 'different prompts)</td><td class="num">0.09</td><td class="num">0.82</td>' in page
    assert "in the policy's chat template" in page
    assert 'id="shares-table"' in page and page.count("<tr><td>benevolence</td>") == 2


def test_every_response_can_be_read_a_page_at_a_time(rita_client):
    artifact = policy({"mean": -0.3, "ci": [-0.4, -0.2], "n": 23})
    url = f"/training/models/{artifact.pk}/"

    first = rita_client.get(url).content.decode()
    last = rita_client.get(url, {"page": 3}, headers={"HX-Request": "true"}).content.decode()

    assert first.count('class="sample"') == 10 and "page 1 of 3" in first
    assert "Prompt number 0 &lt;b&gt;bold&lt;/b&gt;?" in first  # shown as text
    assert last.startswith('\n<section class="card" id="samples">') or last.lstrip().startswith(
        '<section class="card" id="samples">'
    )
    assert last.count('class="sample"') == 3 and "Prompt number 22 " in last
    assert "<h1>" not in last and "← Previous" in last


@pytest.mark.parametrize("who", ["alice_client", "bob_client"])
def test_a_participant_never_sees_a_policy_report(db, request, who):
    artifact = policy({"mean": -0.3, "ci": [-0.4, -0.2], "n": 23})

    response = request.getfixturevalue(who).get(
        f"/training/models/{artifact.pk}/", {"page": 2}, headers={"HX-Request": "true"}
    )

    assert response.status_code in (302, 403)
    assert "Prompt number" not in response.content.decode()


def test_the_report_says_how_many_prompts_and_how_long_it_took(rita_client):
    from_job = policy({"mean": -0.3, "ci": [-0.4, -0.2], "n": 23})
    from_bench = policy({"mean": -0.3, "ci": [-0.4, -0.2], "n": 23})
    card = from_bench.card
    del card["prompts"]  # align() alone records the split, not a prompts file
    card |= {"held_out": 23, "train_prompts": 327}
    card["report"]["seconds"] = 1036.5
    from_bench.save()

    by_job = rita_client.get(f"/training/models/{from_job.pk}/").content.decode()
    by_bench = rita_client.get(f"/training/models/{from_bench.pk}/").content.decode()

    assert "100 prompts, 23 held out for this report · took 60 s" in by_job
    assert "350 prompts, 23 held out for this report · took 17 min" in by_bench
