"""Two tabs on a phone edit the same proposed card: the first save is stored; the second tab is
told its edit was not stored and why, keeps what was typed, and can save it again knowingly."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from core.models import User
from elicitation.models import ValuesCard
from elicitation.services.cards import card_edit
from elicitation.services.interviews import chat_start, message_post
from tests.browser.conftest import PHONE
from tests.browser.steps import interview_study
from tests.elicitation.interview_script import CARD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PID = "5f0c8a1b2c3d4e5f60718abc"


def edit_title(page, title: str) -> None:
    page.get_by_text("Edit it myself").click()
    page.get_by_label("Title (2 to 5 words)").fill(title)
    page.get_by_role("button", name="Save my changes").click()


def test_the_second_tab_is_told_its_card_edit_was_not_stored_and_keeps_its_words(
    live_server, browser, screenshot, llm_double
):
    scenario = interview_study("tabs", "Two tabs")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    first = context.new_page()
    first.goto(f"{live_server.url}/join/tabs/?PROLIFIC_PID={PID}&STUDY_ID=s&SESSION_ID=x")
    participant = User.objects.get(prolific_pid=PID)
    chat = chat_start(participant=participant, scenario=scenario)
    message_post(chat=chat, text="I want them to be honest about being tired.")
    card_edit(chat=chat, **CARD)
    url = live_server.url + reverse("elicitation:chat", args=[chat.pk])
    first.goto(url)
    second = context.new_page()
    second.goto(url)

    edit_title(first, "Honest Friends")
    expect(first.get_by_text("Saved.", exact=True)).to_be_visible()
    edit_title(second, "Plans Kept Together")

    expect(second.get_by_role("alert")).to_contain_text(
        "Your changes were not stored: this card was changed in another tab"
    )
    expect(second.get_by_label("Title (2 to 5 words)")).to_have_value("Plans Kept Together")
    expect(second.locator("#values-card h2")).to_have_text("Honest Friends")
    screenshot(second, "card-two-tabs-stale-phone")
    assert ValuesCard.objects.get().title == "Honest Friends"

    second.get_by_role("button", name="Save my changes").click()
    expect(second.get_by_text("Saved.", exact=True)).to_be_visible()
    expect(second.locator("#values-card h2")).to_have_text("Plans Kept Together")
    context.close()
