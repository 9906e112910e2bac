"""The researcher's workers page: each worker's standing, and excluding one from the page."""

import json
from urllib.parse import quote

import pytest

from annotation.assignment import item_next_for_worker, slots_ensure
from annotation.models import Annotation, QualityFlag, Slot, WorkerStatus
from annotation.selectors import project_export_lines
from annotation.services import annotation_submit
from tests.annotation.factories import AnnotationFactory, ItemFactory, ProjectFactory, labels
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page_url(project) -> str:
    return f"/annotation/projects/{project.slug}/workers/"


def exclude_url(project, worker) -> str:
    return f"/annotation/projects/{project.slug}/workers/{quote(worker.pseudonym)}/exclude/"


@pytest.fixture
def project(alice):
    """Two items, one annotation each, both labelled by Alice: nothing is left for anyone."""
    project = ProjectFactory(slug="pilot", overlap=1, blind_share=0, gold_rate=0, min_seconds=0.5)
    for n in range(2):
        ItemFactory(project=project, external_id=f"x{n}")
    slots_ensure(project=project)
    for seconds in (1.0, 3.0):  # within the lease time, so stored as given
        slot = item_next_for_worker(project=project, worker=alice).slot
        annotation_submit(worker=alice, item=slot.item, labels=labels(power=1), seconds=seconds)
    return project


def export_annotators(project) -> list[str]:
    records = [json.loads(line) for line in project_export_lines(project=project)]
    return [a["annotator"] for record in records for a in record["annotations"]]


def test_rita_sees_each_worker_with_state_items_done_median_time_and_flags(
    rita_client, project, alice, bob
):
    gold = ItemFactory(project=project, is_gold=True, reference_labels=labels(power=1))
    AnnotationFactory(item=gold, annotator=bob, labels=labels(power=1, hedonism=1), seconds=30)
    WorkerStatus.objects.create(project=project, worker=bob, state="warned", n_done=1, n_gold=1)
    for _ in range(2):
        QualityFlag.objects.create(project=project, worker=bob, kind="too_fast")
    QualityFlag.objects.create(project=project, worker=bob, kind="attention")

    response = rita_client.get(page_url(project))

    html = response.content.decode()
    assert response.status_code == 200
    alice_row = html.split(f'data-worker="{alice.pseudonym}"')[1].split("</tr>")[0]
    bob_row = html.split(f'data-worker="{bob.pseudonym}"')[1].split("</tr>")[0]
    assert ">active<" in alice_row, alice_row
    assert '<td class="num">2</td>' in alice_row  # items done
    assert "2.0 s" in alice_row  # median of 1 and 3 seconds
    assert "none" in alice_row and "Exclude" in alice_row
    assert ">warned<" in bob_row
    assert "0.90" in bob_row  # 9 of 10 dimensions match the gold item's reference
    assert "Too fast: 2" in bob_row and "Failed an attention check: 1" in bob_row
    assert html.index(alice.pseudonym) < html.index(bob.pseudonym)  # most items done first


def test_the_project_page_and_the_dashboard_link_to_the_workers_page(rita_client, project):
    assert f'href="{page_url(project)}"' in rita_client.get("/annotation/projects/pilot/").text
    dashboard = rita_client.get("/annotation/projects/pilot/dashboard/").text
    assert f'href="{page_url(project)}"' in dashboard


def test_excluding_from_the_page_reopens_the_slots_and_drops_the_labels_from_the_export(
    rita_client, project, alice, bob
):
    assert export_annotators(project) == [alice.pseudonym] * 2
    assert item_next_for_worker(project=project, worker=bob).done

    response = rita_client.post(exclude_url(project, alice), **HTMX)

    row = response.content.decode()
    assert response.status_code == 200
    assert row.strip().startswith(f'<tr data-worker="{alice.pseudonym}">')
    assert ">excluded<" in row
    assert "Excluded: 2 slots re-opened." in row
    assert "Exclude</button>" not in row
    assert "HX-Request" in response["Vary"]
    assert list(Slot.objects.filter(project=project).values_list("state", "worker")) == [
        ("free", None),
        ("free", None),
    ]
    assert WorkerStatus.objects.get(project=project, worker=alice).state == "excluded"
    assert export_annotators(project) == []
    assert item_next_for_worker(project=project, worker=bob).slot is not None
    assert item_next_for_worker(project=project, worker=alice).slot is None


def test_a_second_exclusion_changes_nothing_and_says_so(rita_client, project, alice, bob):
    rita_client.post(exclude_url(project, alice), **HTMX)
    bob_slot = item_next_for_worker(project=project, worker=bob).slot  # Bob takes a re-opened slot
    before = list(Slot.objects.order_by("pk").values_list("pk", "state", "worker_id"))

    again = rita_client.post(exclude_url(project, alice), **HTMX)

    assert again.status_code == 200
    assert "Already excluded: nothing changed." in again.content.decode()
    assert list(Slot.objects.order_by("pk").values_list("pk", "state", "worker_id")) == before
    assert Slot.objects.get(pk=bob_slot.pk).worker == bob
    assert Annotation.objects.filter(annotator=alice, excluded=True).count() == 2


def test_a_plain_form_post_excludes_and_goes_back_to_the_page_with_a_message(
    rita_client, project, alice
):
    response = rita_client.post(exclude_url(project, alice), follow=True)

    assert response.redirect_chain == [(page_url(project), 302)]
    assert f"{alice.pseudonym}: Excluded: 2 slots re-opened." in response.content.decode()


def test_the_exclude_button_confirms_and_posts_through_htmx_with_the_row_as_target(
    rita_client, project, alice
):
    html = rita_client.get(page_url(project)).content.decode()

    form = html.split(f'data-worker="{alice.pseudonym}"')[1].split("</form>")[0]
    assert f'hx-post="{exclude_url(project, alice)}"' in form
    assert 'hx-target="closest tr"' in form and 'hx-swap="outerHTML"' in form
    assert f'hx-confirm="Exclude {alice.pseudonym}?' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert "hx-headers" in html  # the CSRF token htmx sends, set once on <body>


def test_pseudonyms_are_escaped_on_the_page_and_in_the_row(rita_client, project):
    odd = UserFactory(username="odd", pseudonym="p-<i>x</i>\"'&")
    WorkerStatus.objects.create(project=project, worker=odd)

    html = rita_client.get(page_url(project)).content.decode()
    row = rita_client.post(exclude_url(project, odd), **HTMX).content.decode()

    for text in (html, row):
        assert "<i>x" not in text
        assert "p-&lt;i&gt;x&lt;/i&gt;&quot;&#x27;&amp;" in text
    assert WorkerStatus.objects.get(worker=odd).state == "excluded"


def test_only_workers_of_this_project_can_be_excluded_here(rita_client, project, alice, bob):
    other = ProjectFactory(slug="other")

    assert rita_client.post(exclude_url(project, bob), **HTMX).status_code == 404
    assert rita_client.post(exclude_url(other, alice), **HTMX).status_code == 404
    assert not WorkerStatus.objects.filter(worker=bob).exists()
    assert WorkerStatus.objects.get(project=project, worker=alice).state == "active"


def test_a_participant_can_neither_see_the_page_nor_exclude(
    alice_client, bob_client, project, alice
):
    page = bob_client.get(page_url(project))
    post = bob_client.post(exclude_url(project, alice), **HTMX)
    own = alice_client.post(exclude_url(project, alice))

    for response in (page, post, own):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert WorkerStatus.objects.get(project=project, worker=alice).state == "active"
    assert Slot.objects.filter(project=project, state="done").count() == 2


def test_the_exclude_url_takes_posts_only(rita_client, project, alice):
    assert rita_client.get(exclude_url(project, alice)).status_code == 405
    assert WorkerStatus.objects.get(project=project, worker=alice).state == "active"
