"""A card written by hand that breaks a rule comes back in place, on a phone: the error under the
field, the words kept, the page whole — in production and under `make run` (DEBUG, where
django-htmx's helper once replaced the whole page with the bare form)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from core.models import User
from elicitation.models import ValuesCard
from elicitation.services.interviews import chat_start, message_post
from tests.browser.conftest import PHONE
from tests.browser.steps import interview_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PID = "5f0c8a1b2c3d4e5f60718def"


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_hand_written_card_with_too_few_things_is_refused_in_place(
    live_server, browser, screenshot, settings, debug
):
    settings.DEBUG = debug
    scenario = interview_study("by-hand", "By hand")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.goto(f"{live_server.url}/join/by-hand/?PROLIFIC_PID={PID}&STUDY_ID=s&SESSION_ID=x")
    chat = chat_start(participant=User.objects.get(prolific_pid=PID), scenario=scenario)
    message_post(chat=chat, text="I want them to be honest about being tired.")
    phone.goto(live_server.url + reverse("elicitation:chat", args=[chat.pk]))

    phone.get_by_text("Or write the card yourself").click()
    phone.get_by_label("Title (2 to 5 words)").fill("Honest Friends")
    phone.get_by_label("Description (one or two sentences)").fill(
        "Saying plainly when you cannot come, so plans can change."
    )
    phone.get_by_label("Item 1", exact=True).fill("MOMENTS when a plan no longer fits")
    phone.get_by_role("button", name="Save my card").click()

    expect(phone.locator("#err-policies")).to_have_text(
        "Write at least 3 things to pay attention to."
    )
    expect(phone.get_by_label("Title (2 to 5 words)")).to_have_value("Honest Friends")
    expect(phone.locator("header.topbar")).to_be_visible()  # the page, not the bare form
    expect(phone.get_by_label("Your message")).to_be_visible()
    screenshot(phone, f"card-refused-{'debug' if debug else 'production'}-phone")
    assert not ValuesCard.objects.exists()

    phone.get_by_label("Item 2", exact=True).fill("WORDS that say why, not only no")
    phone.get_by_label("Item 3", exact=True).fill("CHANCES to suggest another time")
    phone.get_by_role("button", name="Save my card").click()
    expect(phone.get_by_role("button", name="Approve this card")).to_be_visible()
    assert ValuesCard.objects.get().title == "Honest Friends"
    context.close()
