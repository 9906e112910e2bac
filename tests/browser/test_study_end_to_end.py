"""A whole study, end to end, in a browser: a researcher builds it on the New-study page
(consent, an interview, labelling 3 items each, voting 3 pairs each); three participants join from
Prolific links on phones and each reaches the completion code; the researcher sees them complete
and exports their data.

Screenshots of every participant page are saved as test-results/study-e2e-*.png.
"""

import json
import re
import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from annotation.assignment import slots_ensure
from core.llm import local_files
from core.models import LLMCall, Participation, Study
from elicitation import interview
from elicitation.models import Chat
from moralgraph.models import Vote
from tests.annotation.factories import ItemFactory, ProjectFactory
from tests.browser.conftest import PHONE
from tests.browser.pages import watch
from tests.browser.steps import sign_in
from tests.elicitation.interview_script import CARD, QUESTIONS, script_interview
from tests.factories import UserFactory
from tests.moralgraph.conftest import World, make_voter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PIDS = ["5f0c8a1b2c3d4e5f6071e2e1", "5f0c8a1b2c3d4e5f6071e2e2", "5f0c8a1b2c3d4e5f6071e2e3"]
ITEMS_EACH = 3
VOTES_EACH = 3


@pytest.fixture
def material(db, schwartz10):
    """What a researcher has before building the study: a labelling project (its own quota: 5
    items per worker; the study asks 3 of each participant), a deliberation with questions and
    pairs of values to judge."""
    UserFactory(username="rita", role="researcher")
    world = World(make_voter("author"))
    world.story(world.distress, world.a, world.b, text="I used to think honesty was enough...")
    world.story(world.distress, world.b, world.c, text="I used to tell the truth and leave...")
    world.story(world.deciding, world.d, world.e, text="I used to lay out every option...")
    world.story(world.distress, world.a, world.c, text="I used to stop at being honest...")
    project = ProjectFactory(
        name="Chatbot answers", slug="chatbot-answers", overlap=1, quota_per_worker=5,
        blind_share=0, gold_rate=0, min_seconds=0, lease_seconds=600,
    )  # fmt: skip
    for n in range(len(PIDS) * ITEMS_EACH):
        ItemFactory(project=project, prompt=f"Should I tell my friend #{n}?", response="Maybe.")
    slots_ensure(project=project)
    return world, project


def build_study(page, base: str, project) -> str:
    """On the New-study page: return the study's Prolific URL (with Prolific's placeholders)."""
    sign_in(page, base)
    page.goto(f"{base}/researcher/studies/new/")
    page.get_by_label("Title:", exact=True).fill("Values on phones")
    expect(page.get_by_label("Slug:")).to_have_value("values-on-phones")  # follows the title
    page.get_by_label("Completion code").fill("PHONES1")
    page.get_by_label("Consent text").fill("Your answers are stored under a pseudonym.")

    def task(kind: str):
        return page.locator(f"fieldset[data-kind='{kind}']")

    expect(task("consent").get_by_role("checkbox")).to_be_checked()  # consent by default
    interview = task("elicitation")
    interview.get_by_role("checkbox").check()
    interview.get_by_label("Deliberation to interview about").select_option("mg")
    labelling = task("annotation.label")
    labelling.get_by_role("checkbox").check()
    labelling.get_by_label("Project to label").select_option(str(project.pk))
    labelling.get_by_label("Items per participant").fill(str(ITEMS_EACH))
    voting = task("moralgraph.vote")
    voting.get_by_role("checkbox").check()
    voting.get_by_label("Deliberation whose pairs are judged").select_option("mg")
    voting.get_by_label("Pairs per participant").fill(str(VOTES_EACH))
    page.get_by_role("button", name="Create study").click()

    expect(page.get_by_role("heading", name="Values on phones")).to_be_visible()
    tasks = page.locator("section.card", has_text="Tasks").locator("ol > li")
    expect(tasks).to_have_count(4)
    expect(tasks.nth(0)).to_contain_text("consent")
    expect(tasks.nth(1)).to_contain_text("elicitation")
    expect(tasks.nth(2)).to_contain_text("annotation.label")
    expect(tasks.nth(3)).to_contain_text("moralgraph.vote")
    join_url = page.locator("#join-url").input_value()
    assert "PROLIFIC_PID={{%PROLIFIC_PID%}}" in join_url
    return join_url


def prolific_link(join_url: str, base: str, n: int) -> str:
    """The link Prolific sends participant ``n`` to (placeholders filled in)."""
    path = urlparse(join_url).path
    return f"{base}{path}?PROLIFIC_PID={PIDS[n]}&STUDY_ID=st{n}&SESSION_ID=se{n}"


def interview_with_the_double(llm_double):
    """The interview against the scripted double: three answers, then the proposed card."""

    def run(phone, shot) -> None:
        script_interview(llm_double)
        for n, text in enumerate(ANSWERS):
            phone.get_by_label("Your message").fill(text)
            phone.get_by_role("button", name="Send").click()
            expect(phone.locator(".bubble-user")).to_have_count(n + 1)
            # Each answer waits for the interviewer's whole reply (the composer is busy until
            # then; the typing bubble counts as an assistant bubble, so the count is not enough).
            if n < len(QUESTIONS):
                expect(phone.locator(".bubble-assistant").nth(n + 1)).to_have_text(QUESTIONS[n])
            expect(phone.locator(".bubble.typing, .bubble.streaming")).to_have_count(0)
            if n == 0:
                shot("04-chat")
        card = phone.locator("#values-card")
        expect(card.get_by_role("heading", name=CARD["title"])).to_be_visible()
        shot("05-card")

    return run


ANSWERS = [
    "Honesty matters, but so does how it lands.",
    "My aunt listened before she advised me.",
    "Whether I found my own words.",
]


def take_part(phone, link: str, talk, shot) -> None:
    """One participant, on a phone, from the Prolific link to the completion code."""
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Values on phones")).to_be_visible()
    shot("01-study")
    start = phone.get_by_role("link", name="Start")

    # Consent.
    start.click()
    expect(phone.get_by_text("Your answers are stored under a pseudonym.")).to_be_visible()
    shot("02-consent")
    phone.get_by_role("checkbox").check()
    phone.get_by_role("button", name="Continue").click()

    # The interview, to an approved card.
    expect(phone.locator(".tasks .badge.ok")).to_have_count(1)
    start.click()
    shot("03-questions")
    phone.get_by_role("button", name="Talk about this").first.click()
    expect(phone.locator(".bubble-assistant").first).to_be_visible()
    talk(phone, shot)
    phone.get_by_role("button", name="Approve this card").click()
    expect(phone.get_by_text("Your approved card")).to_be_visible()
    shot("06-card-approved")
    phone.get_by_role("link", name="Back to the study").click()
    expect(phone.locator(".tasks .badge.ok")).to_have_count(2)

    # Labelling: 3 items, progress "n of 3", then done and back to the study.
    start.click()
    expect(phone.locator("#label-form")).to_be_visible()
    expect(phone.locator(".progress-text")).to_have_text(f"0 of {ITEMS_EACH} done")
    shot("07-label-item")
    for n in range(ITEMS_EACH):
        phone.locator("#label-form .dim").nth(n).locator("label.opt", has_text="upholds").click()
        phone.get_by_role("button", name="Submit & next").click()
        if n + 1 < ITEMS_EACH:
            expect(phone.locator(".progress-text")).to_have_text(f"{n + 1} of {ITEMS_EACH} done")
    expect(phone.get_by_role("heading", name="All done — thank you!")).to_be_visible()
    shot("08-label-done")
    phone.get_by_role("link", name=re.compile("Back to the study")).click()
    expect(phone.locator(".tasks .badge.ok")).to_have_count(3)

    # Voting: 3 pairs, "Pair n of 3", then done and back to the study.
    start.click()
    for n in range(VOTES_EACH):
        expect(phone.locator("#mg-progress-text")).to_have_text(f"Pair {n + 1} of {VOTES_EACH}")
        if n == 0:
            shot("09-vote-pair")
        phone.get_by_role("button", name=["Yes", "No", "Not sure"][n], exact=True).click()
    expect(phone.get_by_role("heading", name="Thank you, that's all the pairs")).to_be_visible()
    shot("10-vote-done")
    phone.get_by_role("link", name="Back to the study").click()

    # The completion code, and the way back to Prolific.
    expect(phone.locator("#completion-code")).to_have_text("PHONES1")
    expect(phone.locator(".tasks .badge.ok")).to_have_count(4)
    expect(phone.get_by_role("link", name="Return to Prolific")).to_be_visible()
    shot("11-completion-code")


def test_a_study_built_on_the_pages_is_finished_by_three_participants_on_phones(
    live_server, browser, desktop, screenshot, material, llm_double
):
    world, project = material
    base = live_server.url
    join_url = build_study(desktop, base, project)
    screenshot(desktop, "study-e2e-researcher-built")

    for n in range(len(PIDS)):
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        phone = context.new_page()
        phone.set_default_timeout(15_000)
        problems = watch(phone)

        def shot(name: str, n=n, phone=phone) -> None:
            if n == 0 or name.startswith(("01", "11")):
                screenshot(phone, f"study-e2e-p{n + 1}-{name}")

        try:
            take_part(
                phone, prolific_link(join_url, base, n), interview_with_the_double(llm_double), shot
            )
        except Exception:
            screenshot(phone, f"study-e2e-p{n + 1}-failed")
            raise
        assert llm_double.pending() == 0, f"participant {n + 1} left {llm_double.pending()}"
        assert problems == [], "\n".join(problems)
        context.close()

    study = Study.objects.get(slug="values-on-phones")
    participations = Participation.objects.filter(study=study)
    assert participations.count() == 3
    assert all(p.completed is not None for p in participations)
    assert Chat.objects.filter(state="approved").count() == 3
    voters = [p.user for p in participations]
    assert Vote.objects.filter(voter__in=voters, counted=True).count() == 3 * VOTES_EACH

    # The researcher sees them complete and exports their labels.
    desktop.goto(f"{base}/researcher/studies/values-on-phones/")
    expect(desktop.get_by_text("3 joined, 3 completed")).to_be_visible()
    rows = desktop.locator("table tbody tr")
    expect(rows).to_have_count(3)
    for row in range(3):
        expect(rows.nth(row).locator("td").last).not_to_have_text("—")
    screenshot(desktop, "study-e2e-researcher-complete")
    desktop.goto(f"{base}/annotation/projects/{project.slug}/")
    with desktop.expect_download() as download:
        desktop.get_by_role("link", name="Export annotations (JSONL)").click()
    lines = [json.loads(line) for line in open(download.value.path()) if line.strip()]
    labelled = [line for line in lines if line["annotations"]]
    assert len(labelled) == 3 * ITEMS_EACH
    annotators = {a["annotator"] for line in labelled for a in line["annotations"]}
    assert annotators == {p.pseudonym for p in voters}
    assert all(line["labels"] is None for line in lines if not line["annotations"])


def interview_with_the_embedded_model(timing: dict):
    """The interview against the embedded model: one answer and its real reply, then the card
    written by hand (the path that never strands a participant, whatever the model does)."""

    def run(phone, shot) -> None:
        phone.get_by_label("Your message").fill(ANSWERS[0])
        started = time.monotonic()
        phone.get_by_role("button", name="Send").click()
        expect(phone.locator(".bubble-assistant")).to_have_count(2, timeout=300_000)
        expect(phone.locator(".bubble.typing, .bubble.streaming")).to_have_count(0, timeout=300_000)
        timing["turn_seconds"] = round(time.monotonic() - started, 1)
        reply = phone.locator(".bubble-assistant").nth(1).inner_text()
        assert reply.strip() and "[[" not in reply and "{" not in reply
        shot("04-chat")
        phone.get_by_text("Or write the card yourself").click()
        phone.get_by_label("Title (2 to 5 words)").fill("Words That Land")
        phone.get_by_label("Description (one or two sentences)").fill(
            "Honest words chosen so the other person can take them in."
        )
        for n, policy in enumerate(
            [
                "MOMENTS when the truth can be heard",
                "WORDS that leave the other their dignity",
                "SIGNS that they are ready to listen",
            ],
            start=1,
        ):
            phone.get_by_label(f"Item {n}", exact=True).fill(policy)
        phone.get_by_role("button", name="Save my card").click()
        card = phone.locator("#values-card")
        expect(card.get_by_role("heading", name="Words That Land")).to_be_visible()
        shot("05-card")

    return run


@pytest.mark.slow
@pytest.mark.skipif(
    local_files.gguf_path() is None,
    reason=f"the {local_files.CHAT_PACKAGE} package ({local_files.CHAT_GGUF}) is not installed",
)
def test_the_same_study_on_the_embedded_model_with_the_card_written_by_hand(
    live_server, browser, desktop, screenshot, material, settings, monkeypatch
):
    # One participant: on two shared CPU cores each model reply takes tens of seconds, and the
    # three-participant run against the double already covers the rest.
    monkeypatch.setattr(interview, "INTERVIEW_MAX_TOKENS", 60)
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_API_KEY = ""
    settings.VALUELAB_LLM_TIMEOUT = 300
    world, project = material
    base = live_server.url
    join_url = build_study(desktop, base, project)
    timing: dict = {}
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    problems = watch(phone)

    def shot(name: str) -> None:
        screenshot(phone, f"study-e2e-local-{name}")

    take_part(
        phone, prolific_link(join_url, base, 0), interview_with_the_embedded_model(timing), shot
    )
    assert problems == [], "\n".join(problems)
    context.close()

    participation = Participation.objects.get(study__slug="values-on-phones")
    assert participation.completed is not None
    call = LLMCall.objects.get(purpose="elicitation.interview")
    assert (call.backend, call.outcome, call.study_id) == ("local", "ok", participation.study_id)
    print(f"embedded model: an interview turn took {timing['turn_seconds']} s in the browser")
