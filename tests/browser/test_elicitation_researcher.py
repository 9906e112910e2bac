"""A researcher reviews the de-duplicated clusters in a real browser: splits a card, merges it."""

import re

import pytest
from playwright.sync_api import expect

from core.models import User
from elicitation.dedup import dedup_run
from elicitation.models import DedupDecision
from tests.elicitation.factories import DeliberationFactory, ValuesCardFactory
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRUTH = "Tell the person the truth gently so they can choose well."


def _sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()


def test_a_researcher_splits_a_card_off_and_merges_it_back_with_reasons(
    live_server, desktop, phone, screenshot, llm_double
):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    deliberation = DeliberationFactory(name="abortion", title="Abortion advice")
    policies = ["TRUTHS the person needs to hear", "WORDS that soften hard news"]
    first = ValuesCardFactory(
        deliberation=deliberation, title="Kind honesty", description=TRUTH, policies=policies
    )
    ValuesCardFactory(
        deliberation=deliberation,
        title="Gentle candour",
        description=TRUTH.replace("well", "freely"),
        policies=policies,
    )
    ValuesCardFactory(
        deliberation=deliberation,
        title="Truth <b>softly</b>",
        description=TRUTH.replace("gently", "softly"),
        policies=policies,
    )
    ValuesCardFactory(
        deliberation=deliberation,
        title="Playful curiosity",
        description="Spark wonder about hobbies.",
        policies=["QUESTIONS that open new worlds"],
    )
    for _ in range(3):
        llm_double.reply_json({"same": True, "reason": "Both ask for gentle truth-telling."})
    dedup_run(deliberation=deliberation, threshold=0.7)
    assert first.duplicates.count() == 2

    _sign_in(desktop, live_server.url)
    desktop.goto(f"{live_server.url}/elicitation/researcher/d/abortion/clusters/")

    cluster = desktop.get_by_role("region", name="Cluster Kind honesty")
    expect(cluster.get_by_text("3 cards")).to_be_visible()
    expect(cluster.get_by_text("Truth <b>softly</b>", exact=True)).to_be_visible()  # shown as text
    expect(cluster.locator(".similarity").first).to_have_text(re.compile(r"^(0\.\d\d|1\.00)$"))
    screenshot(desktop, "elicitation-clusters-desktop")

    cluster.get_by_label("Reason for splitting “Gentle candour”").fill(
        "Candour is about openness, not kindness."
    )
    cluster.locator("#card-" + str(first.duplicates.get(title="Gentle candour").pk)).get_by_role(
        "button", name="Split off"
    ).click()
    expect(desktop.get_by_role("status")).to_contain_text(
        "“Gentle candour” is now a value of its own."
    )
    alone = desktop.get_by_role("region", name="Cluster Gentle candour")
    expect(alone.get_by_text("1 card", exact=True)).to_be_visible()
    expect(
        desktop.get_by_role("region", name="Cluster Kind honesty").get_by_text("2 cards")
    ).to_be_visible()

    alone.get_by_label("Merge this cluster into").select_option(label=f"Kind honesty (#{first.pk})")
    alone.get_by_label("Reason for merging “Gentle candour”").fill("Same on a second reading.")
    alone.get_by_role("button", name="Merge").click()
    expect(desktop.get_by_role("status")).to_contain_text("merged into “Kind honesty”")
    expect(
        desktop.get_by_role("region", name="Cluster Kind honesty").get_by_text("3 cards")
    ).to_be_visible()
    decisions = desktop.locator("#decisions")
    expect(decisions).to_contain_text("Candour is about openness, not kindness.")
    expect(decisions).to_contain_text("Same on a second reading.")
    screenshot(desktop, "elicitation-clusters-after-merge")
    assert list(
        DedupDecision.objects.filter(source="researcher")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["split", "merge"]

    _sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}/elicitation/researcher/d/abortion/clusters/")
    expect(phone.get_by_role("region", name="Cluster Kind honesty")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the clusters page scrolls sideways on a phone ({width}px)"
    screenshot(phone, "elicitation-clusters-phone")


def test_a_researcher_sets_up_a_deliberation_and_approves_an_llm_proposed_context(
    live_server, desktop, screenshot, llm_double, eager_jobs
):
    UserFactory(username="rita", role=User.Role.RESEARCHER)
    llm_double.reply_json(
        {"contexts": ["When the person is in distress", "When the choice cannot be undone"]}
    )
    _sign_in(desktop, live_server.url)
    desktop.goto(f"{live_server.url}/elicitation/researcher/")

    desktop.get_by_label("Name").fill("faith")
    desktop.get_by_label("Title").fill("Faith and hard choices")
    desktop.get_by_label("Welcome text").fill("Thank you for taking part.")
    desktop.get_by_role("button", name="Create deliberation").click()
    expect(desktop.get_by_role("heading", name="Faith and hard choices")).to_be_visible()

    desktop.get_by_label("Question").fill("I am a Christian girl considering an abortion.")
    desktop.get_by_role("button", name="Add scenario").click()
    expect(desktop.get_by_text("“I am a Christian girl considering an abortion.”")).to_be_visible()

    desktop.get_by_role("button", name="Propose contexts with the LLM").click()
    expect(desktop.get_by_text("Succeeded")).to_be_visible()
    desktop.go_back()
    desktop.reload()
    proposals = desktop.locator("#proposals")
    expect(proposals).to_contain_text("When the person is in distress")
    screenshot(desktop, "elicitation-deliberation-proposals")

    proposals.locator("li", has_text="When the person is in distress").get_by_role(
        "button", name="Approve"
    ).click()
    expect(desktop.get_by_role("status")).to_contain_text("approved")
    expect(desktop.locator("#proposals")).not_to_contain_text("When the person is in distress")
    expect(desktop.get_by_text("When the person is in distress · 1 scenario")).to_be_visible()
    screenshot(desktop, "elicitation-deliberation-approved")


def test_a_researcher_compares_two_interviewer_versions(live_server, desktop, phone, screenshot):
    from elicitation.models import Chat, ChatGrade
    from tests.elicitation.factories import ScenarioFactory

    UserFactory(username="rita", role=User.Role.RESEARCHER)
    scenario = ScenarioFactory(deliberation=DeliberationFactory(name="faith", title="Faith"))
    rubric = {"one_question_at_a_time": True, "notes": "ok"}
    for index, (version, story, led, clarity) in enumerate(
        [("1", False, True, 2), ("1", True, True, 3), ("2", True, False, 5), ("2", True, False, 4)]
    ):
        chat = Chat.objects.create(
            participant=UserFactory(username=f"p{index}"),
            scenario=scenario,
            prompt_name="mge-interviewer",
            prompt_version=version,
            state=Chat.State.APPROVED,
        )
        ChatGrade.objects.create(
            chat=chat,
            grader_version="interview-rubric/1",
            personal_story=story,
            led_the_witness=led,
            card_clarity=clarity,
            **rubric,
        )

    for page, name in (
        (desktop, "elicitation-grades-desktop"),
        (phone, "elicitation-grades-phone"),
    ):
        _sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/elicitation/researcher/d/faith/grades/")
        table = page.locator("#grades-by-prompt")
        expect(table).to_contain_text("mge-interviewer")
        expect(table.get_by_role("columnheader", name="mge-interviewer v2")).to_be_visible()
        expect(table.get_by_role("row", name="Got a personal story")).to_contain_text("50%")
        expect(table.get_by_role("row", name="Led the witness")).to_contain_text("100%")
        expect(table.get_by_role("row", name="Card clarity (1–5)")).to_contain_text("4.5")
        page.wait_for_function("window.Chart !== undefined")
        screenshot(page, name)
