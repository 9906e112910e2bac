"""A crowdworker is interviewed on a phone, sees the card, edits it and approves it."""

import pytest
from playwright.sync_api import expect

from core.models import Participation
from elicitation.models import Chat, Message
from tests.elicitation.factories import ScenarioFactory
from tests.elicitation.interview_script import CARD, QUESTIONS, script_interview
from tests.factories import StudyFactory, StudyTaskFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PID = "5f0c8a1b2c3d4e5f60718299"
QUESTION = "I am a Christian girl and am considering getting an abortion – what should I do?"


def answer(page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()


def test_a_crowdworker_is_interviewed_and_approves_their_card_on_a_phone(
    live_server, phone, screenshot, llm_double
):
    scenario = ScenarioFactory(question=QUESTION)
    study = StudyFactory(
        slug="mge", title="What should a chatbot consider?", completion_code="MGE1"
    )
    StudyTaskFactory(
        study=study,
        kind="elicitation",
        title="Talk with the interviewer",
        config={"deliberation": scenario.deliberation.name},
    )
    script_interview(llm_double)
    llm_double.latency = 0.05

    phone.goto(f"{live_server.url}/join/mge/?PROLIFIC_PID={PID}&STUDY_ID=s&SESSION_ID=x")
    phone.get_by_role("link", name="Start").click()
    expect(phone.get_by_text(QUESTION)).to_be_visible()
    screenshot(phone, "elicitation-scenarios-phone")
    phone.get_by_role("button", name="Talk about this").click()
    expect(phone.locator(".bubble-assistant").first).to_contain_text(
        "considering getting an abortion"
    )

    answer(phone, "It should respect her faith and <b>her</b> own conscience.")
    expect(phone.locator(".bubble-assistant").nth(1)).to_have_text(QUESTIONS[0])
    expect(phone.locator(".bubble-user").first).to_contain_text("<b>her</b>")  # text, not markup
    screenshot(phone, "elicitation-interview-phone")
    answer(phone, "My aunt listened to me without judging when I was lost.")
    expect(phone.locator(".bubble-assistant").nth(2)).to_have_text(QUESTIONS[1])
    answer(phone, "Whether I was finding my own words, not hers.")

    card = phone.locator("#values-card")
    expect(card.get_by_role("heading", name=CARD["title"])).to_be_visible()
    expect(phone.locator(".bubble-assistant").last).not_to_contain_text("submit_values_card")
    screenshot(phone, "elicitation-card-proposed-phone")

    phone.get_by_text("Edit it myself").click()
    phone.get_by_label("Title (2 to 5 words)").fill(" ")
    phone.get_by_role("button", name="Save my changes").click()
    expect(phone.locator("#err-title")).to_contain_text("Write this part")
    screenshot(phone, "elicitation-card-edit-error-phone")
    # Off-style wording is kept, with a hint beside the field (never a refusal).
    phone.get_by_label("Title (2 to 5 words)").fill("Heard")
    phone.get_by_role("button", name="Save my changes").click()
    expect(card.get_by_role("heading", name="Heard")).to_be_visible()
    expect(phone.locator("#hint-title")).to_contain_text("2 to 5 words")
    screenshot(phone, "elicitation-card-style-hint-phone")
    phone.get_by_label("Title (2 to 5 words)").fill("Finding Her Own Words")
    phone.get_by_role("button", name="Save my changes").click()
    expect(card.get_by_role("heading", name="Finding Her Own Words")).to_be_visible()

    phone.get_by_role("button", name="Approve this card").click()
    expect(phone.get_by_text("Your approved card")).to_be_visible()
    expect(phone.locator("#composer")).to_have_count(0)
    screenshot(phone, "elicitation-card-approved-phone")

    phone.get_by_role("link", name="Back to the study").click()
    expect(phone.locator("#completion-code")).to_have_text("MGE1")
    chat = Chat.objects.get()
    assert chat.state == "approved" and chat.card.title == "Finding Her Own Words"
    assert chat.messages.count() == 7
    assert Participation.objects.get().completed is not None


def test_a_reload_during_a_reply_asks_before_sending_again_and_loses_nothing(
    live_server, phone, llm_double
):
    scenario = ScenarioFactory(question=QUESTION)
    study = StudyFactory(slug="mge", title="MGE")
    StudyTaskFactory(
        study=study, kind="elicitation", config={"deliberation": scenario.deliberation.name}
    )
    llm_double.reply("A reply the reload cuts off.", delay=1.5)
    llm_double.reply(QUESTIONS[0])

    phone.goto(f"{live_server.url}/join/mge/?PROLIFIC_PID={PID}")
    phone.get_by_role("link", name="Start").click()
    phone.get_by_role("button", name="Talk about this").click()
    answer(phone, "Her own conscience matters most.")
    expect(phone.locator(".bubble.typing")).to_have_count(1)
    phone.reload()

    expect(phone.locator(".bubble-user")).to_have_count(1)
    # A reload never sends again by itself (each try is a call against the daily budget).
    get_reply = phone.get_by_role("button", name="Get the reply")
    expect(get_reply).to_be_visible()
    phone.wait_for_timeout(2500)
    assert len(llm_double.chat_requests) == 1
    get_reply.click()
    expect(phone.locator(".bubble.typing, .bubble.streaming")).to_have_count(0, timeout=10_000)
    # Whichever reply was stored first wins; the message is answered exactly once.
    phone.reload()
    expect(phone.locator(".bubble-user")).to_have_count(1)
    expect(phone.locator(".bubble-assistant")).to_have_count(2)
    assert Message.objects.filter(role="user").count() == 1
    assert Message.objects.filter(role="assistant").count() == 2
