"""The crowdworker's labelling page: what they see, submitting, and who may reach it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.assignment import slots_ensure
from annotation.models import Annotation, Prelabel, Slot
from core.models import StudyTask
from core.selectors import participation_task_states
from tests.annotation.factories import ItemFactory, PrelabelFactory, ProjectFactory, labels
from tests.factories import ParticipationFactory, StudyFactory


@pytest.fixture
def project(db):
    project = ProjectFactory(
        overlap=1, blind_share=0, gold_rate=0, quota_per_worker=2, text_format="markdown"
    )
    for n in range(3):
        ItemFactory(project=project, prompt=f"Prompt {n}?", response=f"**Bold** answer {n}")
    slots_ensure(project=project)
    return project


def work_url(project) -> str:
    return f"/annotation/work/{project.pk}/"


def form_for(values: dict, seconds: float = 12.0) -> dict:
    return {**{f"label-{k}": str(v) for k, v in values.items()}, "seconds": str(seconds)}


def text(html: str) -> str:
    """Return the page's words as a reader sees them (tags dropped, spaces collapsed)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def leased_item(user, project):
    return Slot.objects.get(worker=user, state="leased").item


def test_the_page_shows_the_leased_item_with_markdown_and_the_prelabel_prefilled(
    alice_client, alice, project
):
    item = project.items.order_by("pk").first()
    PrelabelFactory(
        item=item, labels=labels(benevolence=1), rationales={"benevolence": "It helps a friend."}
    )

    response = alice_client.get(work_url(project))

    html = response.content.decode()
    assert response.status_code == 200
    assert leased_item(alice, project) == item
    assert "<strong>Bold</strong> answer 0" in html
    assert 'name="label-benevolence" value="1" checked' in html
    assert "It helps a friend." in html
    assert "Benevolence" in html and "0 of 2 done" in text(html)


@pytest.mark.parametrize("text_format", ["plain", "markdown"])
def test_html_in_a_response_cannot_run_script_and_is_shown_as_text(alice_client, db, text_format):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0, text_format=text_format)
    ItemFactory(
        project=project,
        response="<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>",
    )

    html = alice_client.get(work_url(project)).content.decode()

    assert "<script>alert(1)" not in html
    assert 'href="javascript:' not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, not dropped
    assert "&lt;img src=x onerror=alert(3)&gt;" in html


def test_a_blind_slot_shows_no_prelabel(alice_client, alice, db):
    project = ProjectFactory(overlap=1, blind_share=1.0, gold_rate=0)
    item = ItemFactory(project=project)
    PrelabelFactory(item=item, labels=labels(power=1), rationales={"power": "Secret reason."})

    html = alice_client.get(work_url(project)).content.decode()
    alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(labels(power=1)))

    assert "Secret reason." not in html
    assert 'name="label-power" value="0" checked' in html
    annotation = Annotation.objects.get()
    assert annotation.saw_prelabel is False and annotation.prelabel_kept is None


def test_submitting_with_htmx_swaps_in_the_next_item(alice_client, alice, project):
    PrelabelFactory(item=project.items.order_by("pk").first(), labels=labels(power=1))
    Prelabel.objects.update(created=timezone.now() - timedelta(hours=1))
    alice_client.get(work_url(project))
    first = leased_item(alice, project)
    Slot.objects.filter(item=first).update(leased_at=timezone.now() - timedelta(seconds=60))

    response = alice_client.post(
        f"{work_url(project)}items/{first.pk}/",
        form_for(labels(power=-1), seconds=9.5),
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="work"')  # the fragment, not the page
    assert "<html" not in html
    second = leased_item(alice, project)
    assert second != first and second.prompt in html
    annotation = Annotation.objects.get(item=first)
    assert annotation.labels["power"] == -1
    assert annotation.seconds == 9.5
    assert annotation.prelabel_kept["power"] is False and annotation.prelabel_kept["hedonism"]
    assert "1 of 2 done" in text(html)


def test_a_missing_dimension_is_named_and_the_item_stays(alice_client, alice, project):
    alice_client.get(work_url(project))
    item = leased_item(alice, project)
    values = labels()
    del values["tradition"]

    response = alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(values))

    assert response.status_code == 400
    assert "missing" in response.content.decode()
    assert not Annotation.objects.exists()
    assert leased_item(alice, project) == item


def test_a_double_submit_stores_one_annotation(alice_client, alice, project):
    alice_client.get(work_url(project))
    item = leased_item(alice, project)

    alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(labels()))
    alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(labels(power=1)))

    assert Annotation.objects.filter(item=item).count() == 1


def test_after_the_quota_the_worker_sees_all_done(alice_client, alice, project):
    for _ in range(2):
        alice_client.get(work_url(project))
        item = leased_item(alice, project)
        alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(labels()))

    html = alice_client.get(work_url(project)).content.decode()

    assert "All done" in html


def test_a_worker_sees_come_back_later_while_others_hold_the_last_item(
    alice_client, bob_client, db
):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    ItemFactory(project=project)
    alice_client.get(work_url(project))

    html = bob_client.get(work_url(project)).content.decode()

    assert "Please wait a moment" in html
    assert 'hx-trigger="load delay:' in html


def test_stop_for_now_gives_the_item_back(alice_client, bob_client, alice, db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    item = ItemFactory(project=project)
    alice_client.get(work_url(project))

    alice_client.post(f"{work_url(project)}items/{item.pk}/pause/")

    assert "Paused" not in bob_client.get(work_url(project)).content.decode()
    assert Slot.objects.get(item=item).worker.username == "bob"


def test_a_researcher_page_is_not_reachable_and_others_projects_are_hidden(alice_client, anon, db):
    study = StudyFactory()
    project = ProjectFactory(study=study)

    assert alice_client.get(work_url(project)).status_code == 404
    assert anon.get(work_url(project)).status_code == 302
    assert alice_client.get(f"/annotation/projects/{project.slug}/").status_code == 302


def test_the_study_task_links_to_the_page_and_completes_after_the_quota(
    alice_client, alice, project
):
    study = StudyFactory()
    project.study = study
    project.save()
    participation = ParticipationFactory(study=study, user=alice)
    task = StudyTask.objects.create(
        study=study, kind="annotation.label", title="Label", config={"project": project.pk}
    )

    (state,) = participation_task_states(participation=participation)
    assert state.url == work_url(project) and not state.done
    for _ in range(2):
        alice_client.get(work_url(project))
        item = leased_item(alice, project)
        alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(labels()))

    (state,) = participation_task_states(participation=participation)
    assert state.done and state.task == task
    assert "C0MPLETE" in alice_client.get(f"/study/{study.slug}/").content.decode()


def test_a_claimed_time_longer_than_the_lease_is_capped_by_the_server_clock(
    alice_client, alice, project
):
    alice_client.get(work_url(project))
    item = leased_item(alice, project)

    alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(labels(), seconds=3600))

    assert Annotation.objects.get(item=item).seconds < 5


def test_a_prelabel_that_arrives_after_the_item_was_shown_was_not_seen(
    alice_client, alice, project
):
    alice_client.get(work_url(project))
    item = leased_item(alice, project)
    PrelabelFactory(item=item, labels=labels(power=1))  # the job finished meanwhile

    alice_client.post(f"{work_url(project)}items/{item.pk}/", form_for(labels()))

    annotation = Annotation.objects.get(item=item)
    assert annotation.saw_prelabel is False and annotation.prelabel_kept is None
