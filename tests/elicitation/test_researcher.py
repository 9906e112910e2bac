"""Researcher pages of elicitation: only researchers reach them; what Rita does there works."""

import pytest
from django.urls import reverse

from core.models import Job, StudyTask
from elicitation.contexts import CONTEXTS_PROMPT_VERSION
from elicitation.models import (
    Chat,
    ContextProposal,
    DedupDecision,
    Deliberation,
    Message,
    MoralContext,
)
from tests.elicitation.factories import (
    DeliberationFactory,
    MoralContextFactory,
    ScenarioFactory,
    ValuesCardFactory,
)
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliberation():
    return DeliberationFactory(name="abortion", title="Abortion advice")


@pytest.fixture
def chat(deliberation, alice):
    scenario = ScenarioFactory(deliberation=deliberation, question="Should I keep the baby?")
    chat = Chat.objects.create(
        participant=alice, scenario=scenario, prompt_name="interviewer", prompt_version="1"
    )
    Message.objects.create(chat=chat, role="assistant", text="What should a good answer consider?")
    Message.objects.create(chat=chat, role="user", text="My sister <b>faced</b> this once.")
    return chat


def _pages(deliberation, chat, card):
    return [
        reverse("elicitation:researcher_deliberations"),
        reverse("elicitation:researcher_deliberation", args=[deliberation.name]),
        reverse("elicitation:researcher_clusters", args=[deliberation.name]),
        reverse("elicitation:researcher_transcripts", args=[deliberation.name]),
        reverse("elicitation:researcher_transcript", args=[chat.pk]),
    ]


def test_participants_and_visitors_never_see_researcher_pages(
    deliberation, chat, alice_client, anon
):
    card = ValuesCardFactory(deliberation=deliberation)
    for url in _pages(deliberation, chat, card):
        for client in (alice_client, anon):
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url
    response = alice_client.post(
        reverse("elicitation:researcher_card_split", args=[card.pk]), {"reason": "x"}
    )
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_rita_creates_a_deliberation_with_a_scenario_and_a_context_and_puts_it_in_a_study(
    rita_client,
):
    response = rita_client.post(
        reverse("elicitation:researcher_deliberations"),
        {"name": "faith", "title": "Faith and choices", "welcome_text": "Welcome!"},
    )
    assert response.status_code == 302
    deliberation = Deliberation.objects.get(name="faith")
    assert deliberation.welcome_text == "Welcome!"
    add_scenario = reverse("elicitation:researcher_scenario_add", args=["faith"])
    for _ in range(2):  # a double click adds it once
        rita_client.post(add_scenario, {"question": "I am Christian; should I abort?"})
    scenario = deliberation.scenarios.get()
    rita_client.post(
        reverse("elicitation:researcher_context_add", args=["faith"]),
        {"text": "When in distress", "scenario": scenario.pk},
    )
    assert list(scenario.contexts.values_list("text", flat=True)) == ["When in distress"]
    study = StudyFactory(title="Spring study")
    for _ in range(2):
        rita_client.post(
            reverse("elicitation:researcher_study_include", args=["faith"]), {"study": study.pk}
        )
    task = StudyTask.objects.get(study=study)
    assert (task.kind, task.config) == ("elicitation", {"deliberation": "faith"})

    page = rita_client.get(reverse("elicitation:researcher_deliberation", args=["faith"]))
    assert "I am Christian; should I abort?" in page.content.decode()
    assert "Spring study" in page.content.decode()


def test_an_empty_scenario_is_refused_with_the_field_named(rita_client, deliberation):
    response = rita_client.post(
        reverse("elicitation:researcher_scenario_add", args=[deliberation.name]), {"question": ""}
    )
    assert response.status_code == 400
    assert "Question: This field is required." in response.content.decode()
    assert not deliberation.scenarios.exists()


def test_llm_proposed_contexts_are_deduplicated_and_wait_for_approval(
    rita_client, deliberation, llm_double, eager_jobs, django_capture_on_commit_callbacks
):
    scenario = ScenarioFactory(deliberation=deliberation)
    MoralContextFactory(deliberation=deliberation, text="When in distress")
    llm_double.reply_json(
        {
            "contexts": [
                "When the person is in distress",
                "when in distress.",
                "When the decision cannot be undone",
                "When the decision cannot be undone later",
            ]
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = rita_client.post(
            reverse("elicitation:researcher_contexts_generate", args=[scenario.pk]),
            {"key": "k"},
        )
    job = Job.objects.get()
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert job.status == Job.Status.SUCCEEDED, job.error
    pending = ContextProposal.objects.filter(status="pending")
    texts = sorted(pending.values_list("text", flat=True))
    # The exact repeat of an existing context and the near-repeat of the new one are dropped.
    assert "When in distress" not in texts
    assert len(texts) == 2 and "When the decision cannot be undone" in texts
    assert {p.prompt_version for p in pending} == {CONTEXTS_PROMPT_VERSION}
    assert not MoralContext.objects.filter(text__in=texts).exists()

    proposal = pending.get(text="When the decision cannot be undone")
    decide = reverse("elicitation:researcher_proposal_decide", args=[proposal.pk])
    rita_client.post(decide, {"decision": "approve"})
    rita_client.post(decide, {"decision": "approve"})
    context = MoralContext.objects.get(text="When the decision cannot be undone")
    assert list(context.scenarios.all()) == [scenario]
    proposal.refresh_from_db()
    assert proposal.status == "approved" and proposal.context == context


def test_clusters_page_shows_members_with_similarity_and_escapes_card_text(
    rita_client, deliberation
):
    canonical = ValuesCardFactory(deliberation=deliberation, title="Gentle truth")
    ValuesCardFactory(
        deliberation=deliberation, title="<script>alert(1)</script>", canonical=canonical
    )

    page = rita_client.get(reverse("elicitation:researcher_clusters", args=[deliberation.name]))

    html = page.content.decode()
    assert "Gentle truth" in html and "2 cards" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_rita_splits_and_merges_with_a_reason_and_a_split_without_one_is_refused(
    rita_client, rita, deliberation
):
    canonical = ValuesCardFactory(deliberation=deliberation, title="Gentle truth")
    member = ValuesCardFactory(deliberation=deliberation, title="Hard truth", canonical=canonical)
    split = reverse("elicitation:researcher_card_split", args=[member.pk])

    response = rita_client.post(split, {"reason": ""}, follow=True)
    assert "reason: Say why" in response.content.decode()
    member.refresh_from_db()
    assert member.canonical_id == canonical.pk

    rita_client.post(split, {"reason": "Hard truth is not gentle."})
    member.refresh_from_db()
    assert member.canonical_id is None
    rita_client.post(
        reverse("elicitation:researcher_card_merge", args=[member.pk]),
        {"into": canonical.pk, "reason": "On reflection, the same."},
    )
    member.refresh_from_db()
    assert member.canonical_id == canonical.pk
    assert list(
        DedupDecision.objects.order_by("pk").values_list("action", "reason", "decided_by")
    ) == [
        ("split", "Hard truth is not gentle.", rita.pk),
        ("merge", "On reflection, the same.", rita.pk),
    ]


def test_rita_starts_deduplication_from_the_clusters_page(
    rita_client, deliberation, llm_double, eager_jobs, django_capture_on_commit_callbacks
):
    ValuesCardFactory(deliberation=deliberation)
    with django_capture_on_commit_callbacks(execute=True):
        response = rita_client.post(
            reverse("elicitation:researcher_dedup", args=[deliberation.name]),
            {"threshold": "0.8", "key": "once"},
        )
    job = Job.objects.get()
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert job.status == Job.Status.SUCCEEDED and job.result["new"] == 1

    bad = rita_client.post(
        reverse("elicitation:researcher_dedup", args=[deliberation.name]),
        {"threshold": "7"},
        follow=True,
    )
    assert "threshold: give a similarity between 0 and 1" in bad.content.decode()


def test_rita_reads_a_transcript_as_text(rita_client, chat):
    listing = rita_client.get(
        reverse("elicitation:researcher_transcripts", args=[chat.scenario.deliberation.name])
    )
    assert chat.participant.pseudonym in listing.content.decode()
    assert "alice" not in listing.content.decode()

    page = rita_client.get(reverse("elicitation:researcher_transcript", args=[chat.pk]))
    html = page.content.decode()
    assert "What should a good answer consider?" in html
    assert "My sister &lt;b&gt;faced&lt;/b&gt; this once." in html


def test_clusters_come_in_pages_and_an_action_returns_to_the_page_of_its_cluster(
    rita_client, deliberation
):
    canonicals = [
        ValuesCardFactory(deliberation=deliberation, title=f"Value {n:02d}") for n in range(12)
    ]
    for canonical in canonicals:
        ValuesCardFactory(deliberation=deliberation, title="Dup", canonical=canonical)
    url = reverse("elicitation:researcher_clusters", args=[deliberation.name])

    first, second = rita_client.get(url), rita_client.get(url + "?page=2")

    assert first.content.decode().count('class="card cluster"') == 10
    assert "Page 1 of 2 (12 clusters)" in first.content.decode()
    assert second.content.decode().count('class="card cluster"') == 2
    member = canonicals[11].duplicates.get()
    response = rita_client.post(
        reverse("elicitation:researcher_card_split", args=[member.pk]), {"reason": "Differs."}
    )
    # 11 clusters of two, then 2 single cards: the split card's own cluster is the 13th.
    assert response["Location"] == f"{url}?all=1&page=2#cluster-{member.pk}"


def test_a_card_in_a_cluster_links_to_the_interview_it_came_from(rita_client, chat):
    canonical = ValuesCardFactory(deliberation=chat.scenario.deliberation, title="Gentle truth")
    card = ValuesCardFactory(deliberation=canonical.deliberation, canonical=canonical)
    chat.card = card
    chat.save()

    page = rita_client.get(
        reverse("elicitation:researcher_clusters", args=[canonical.deliberation.name])
    )

    assert reverse("elicitation:researcher_transcript", args=[chat.pk]) in page.content.decode()
