"""The researcher dashboard: agreement, pre-label quality, anchoring, workers and plots."""

import json

import pytest

from annotation.models import Annotation, WorkerStatus
from annotation.selectors import project_dashboard, project_dashboard_cached
from tests.annotation.factories import (
    AnnotationFactory,
    ItemFactory,
    PrelabelFactory,
    ProjectFactory,
    labels,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def workers(three_workers):
    return three_workers


@pytest.fixture
def project(workers):
    """Six items, three workers each. Items 0-3 agree; 4-5 split on power; item 0 is gold."""
    project = ProjectFactory(slug="kind", overlap=3)
    for n in range(6):
        item = ItemFactory(
            project=project, external_id=f"i{n}", source="model-a" if n % 2 else "model-b"
        )
        PrelabelFactory(item=item, labels=labels(benevolence=1))
        if n == 0:
            item.is_gold = True
            item.reference_labels = labels(benevolence=1)
            item.save()
        for w, worker in enumerate(workers):
            given = labels(benevolence=1) if n < 4 else labels(power=(-1, 0, 1)[w])
            AnnotationFactory(
                item=item,
                annotator=worker,
                labels=given,
                saw_prelabel=w != 2,  # the third worker labels blind
                seconds=10 + w,
            )
    return project


def test_figures_per_dimension(project):
    figures = project_dashboard(project=project, resamples=50)

    power, benevolence = figures["agreement"]["power"], figures["agreement"]["benevolence"]
    # power: four items all 0, two items split -1/0/+1 -> majority share (4*1 + 2/3*... ) / 6
    assert power["majority_share"] == pytest.approx((4 + 2 * (1 / 3)) / 6, abs=1e-4)
    assert power["ac1"] < benevolence["ac1"]
    assert benevolence["alpha"] == pytest.approx(1.0)
    assert benevolence["items"] == 6
    # Every other dimension is 0 everywhere: alpha undefined, AC1 perfect.
    assert figures["agreement"]["hedonism"]["alpha"] is None
    assert figures["agreement"]["hedonism"]["ac1"] == pytest.approx(1.0)
    assert figures["distribution"]["power"] == [2, 14, 2]
    assert figures["distribution"]["benevolence"] == [0, 6, 12]
    # The LLM said benevolence +1 everywhere: right on items 0-3, wrong on 4-5.
    assert figures["llm_vs_humans"]["benevolence"]["share_equal"] == pytest.approx(4 / 6, abs=1e-4)
    assert figures["llm_vs_humans"]["power"]["share_equal"] == 1.0


def test_prelabel_acceptance_and_anchoring_compare_shown_and_blind(project):
    figures = project_dashboard(project=project, resamples=0)

    acceptance = figures["acceptance"]
    assert acceptance["annotations"] == 12  # two workers of six items saw it
    assert acceptance["kept_all"] == pytest.approx(8 / 12, abs=1e-4)
    anchoring = figures["anchoring"]
    assert anchoring["shown"]["annotations"] == 12 and anchoring["blind"]["annotations"] == 6
    assert anchoring["shown"]["gold_agreement"] == 1.0
    assert anchoring["shown"]["gold_labels"] == 20  # two annotations of the gold item, 10 dims
    assert anchoring["blind"]["distribution"]["1"] == pytest.approx(6 / 60, abs=1e-4)


def test_worker_rows_count_time_and_gold_accuracy_under_pseudonyms(project, workers):
    rows = project_dashboard(project=project, resamples=0)["workers"]

    assert [row["worker"] for row in rows] == sorted(w.pseudonym for w in workers)
    assert {row["annotations"] for row in rows} == {6}
    assert sorted(row["median_seconds"] for row in rows) == [10.0, 11.0, 12.0]
    assert {row["gold_accuracy"] for row in rows} == {1.0}
    assert {tuple(row["gold_accuracy_ci"]) for row in rows} == {(1.0, 1.0)}  # one gold item
    assert all("worker" not in row["worker"] for row in rows)  # no usernames


def test_the_workers_page_gives_gold_accuracy_with_its_interval_and_n(
    project, workers, rita_client
):
    for worker in workers:
        WorkerStatus.objects.create(project=project, worker=worker, n_done=6, n_gold=1)
    page = rita_client.get(f"/annotation/projects/{project.slug}/workers/").content.decode()
    cell = '1.00 <span class="ci">[1.00, 1.00]</span> <span class="ci">(1 gold)</span>'
    assert page.count(cell) == 3


def test_excluded_workers_stop_counting(project, workers):
    Annotation.objects.filter(annotator=workers[2]).update(excluded=True)

    figures = project_dashboard(project=project, resamples=0)

    assert sum(figures["distribution"]["benevolence"]) == 12
    assert figures["anchoring"]["blind"]["annotations"] == 0
    assert [
        row["excluded"] for row in figures["workers"] if row["worker"] == workers[2].pseudonym
    ] == [True]


def test_item_map_places_items_by_source(project):
    item_map = project_dashboard(project=project, resamples=0)["map"]
    assert item_map["basis"] == "annotations" and item_map["points"] == 6
    assert sorted(d["label"] for d in item_map["datasets"]) == ["model-a", "model-b"]
    assert sum(len(d["data"]) for d in item_map["datasets"]) == 6


def test_cached_figures_are_reused_until_labels_change(
    project, workers, django_assert_max_num_queries
):
    first = project_dashboard_cached(project=project)
    with django_assert_max_num_queries(3):
        assert project_dashboard_cached(project=project)["computed"] == first["computed"]


def test_dashboard_page_and_its_live_fragment(project, rita_client):
    page = rita_client.get("/annotation/projects/kind/dashboard/")
    html = page.content.decode()

    assert page.status_code == 200
    assert 'hx-trigger="every 5s"' in html
    assert "chart-4.6.1.umd.min.js" in html and "annotation/dashboard.js" in html
    assert 'id="agreement-table"' in html and "Benevolence" in html
    charts = json.loads(
        html.split('id="dashboard-charts" type="application/json">')[1].split("</script>")[0]
    )
    assert charts["distribution"]["series"][2]["label"] == "upholds (+1)"

    fragment = rita_client.get("/annotation/projects/kind/dashboard/", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert "<html" not in body and 'id="dashboard-live"' in body
    assert fragment["Vary"].count("HX-Request") == 1


def test_dashboard_is_for_researchers_only(project, alice_client, anon):
    for client in (alice_client, anon):
        assert client.get("/annotation/projects/kind/dashboard/").status_code == 302
        assert (
            client.get("/annotation/projects/kind/dashboard/", HTTP_HX_REQUEST="true").status_code
            == 302
        )


def test_empty_project_dashboard_renders(rita_client):
    ProjectFactory(slug="empty")
    page = rita_client.get("/annotation/projects/empty/dashboard/")
    assert page.status_code == 200
    assert "No one has labelled yet." in page.content.decode()


def test_dashboard_api_gives_the_figures_as_json(project, rita, api_for, alice):
    response = api_for(rita).get(f"/api/annotation/projects/{project.pk}/dashboard/")

    assert response.status_code == 200
    figures = response.json()
    assert figures["agreement"]["benevolence"]["alpha"] == pytest.approx(1.0)
    assert figures["distribution"]["power"] == [2, 14, 2]
    assert {row["annotations"] for row in figures["workers"]} == {6}
    assert (
        api_for(alice).get(f"/api/annotation/projects/{project.pk}/dashboard/").status_code == 403
    )
