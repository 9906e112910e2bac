"""A researcher pre-labels a project, watches its dashboard fill as labels arrive, and adjudicates
a disputed item, in a real browser on a desktop and on a phone."""

import pytest
from playwright.sync_api import expect

from annotation.models import Adjudication, Prelabel
from tests.annotation.factories import AnnotationFactory, ItemFactory, ProjectFactory, labels
from tests.browser.steps import sign_in
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("schwartz10"),
]


@pytest.fixture
def researcher(db):
    return UserFactory(username="rita", role="researcher")


@pytest.fixture
def workers(db):
    return [UserFactory(username=f"worker{n}") for n in range(3)]


@pytest.fixture
def project(workers):
    """Eight items from two models; six labelled by three workers, two of them disputed."""
    project = ProjectFactory(name="Advice answers", slug="advice", overlap=3)
    for n in range(8):
        item = ItemFactory(
            project=project,
            external_id=f"a{n}",
            prompt=f"Question {n}: <script>alert('x')</script> what should I do?",
            source="model-a" if n % 2 else "model-b",
        )
        if n >= 6:
            continue
        for w, worker in enumerate(workers):
            given = labels(benevolence=1, security=n % 2) if n < 4 else labels(power=(-1, 0, 1)[w])
            AnnotationFactory(item=item, annotator=worker, labels=given, saw_prelabel=w != 2)
    return project


def test_researcher_prelabels_then_watches_the_dashboard_update_live(
    live_server, desktop, screenshot, researcher, project, workers, llm_double, eager_jobs, settings
):
    settings.ANNOTATION_PRELABEL_CONCURRENCY = 1
    for _ in range(8):
        llm_double.reply_json(
            {
                key: {"label": value, "rationale": f"Reason for {key}."}
                for key, value in labels(benevolence=1).items()
            }
        )
    sign_in(desktop, live_server.url)
    desktop.goto(f"{live_server.url}/annotation/projects/advice/")

    panel = desktop.locator("#prelabel-panel")
    expect(panel).to_contain_text("0 of 8 items pre-labelled")
    desktop.wait_for_load_state("networkidle")  # htmx has wired the panel it swapped in
    desktop.get_by_role("button", name="Pre-label 8 items").click()
    expect(panel).to_contain_text("8 of 8 items pre-labelled", timeout=30_000)
    expect(panel).to_contain_text("Succeeded")
    assert Prelabel.objects.filter(item__project=project).count() == 8
    screenshot(desktop, "annotation-project-prelabelled")

    desktop.get_by_role("link", name="Dashboard: agreement, workers, plots").click()
    expect(desktop.get_by_role("heading", name="Dashboard: Advice answers")).to_be_visible()
    table = desktop.locator("#agreement-table")
    expect(table.get_by_role("row", name="Benevolence")).to_be_visible()
    expect(desktop.locator("#workers-table tbody tr")).to_have_count(3)
    # Both charts were drawn by Chart.js from the page's data.
    desktop.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('distribution-chart'))"
        " && Chart.getChart(document.getElementById('map-chart'))"
    )
    sources = desktop.evaluate(
        "() => Chart.getChart(document.getElementById('map-chart')).data.datasets.map(d => d.label)"
    )
    assert sorted(sources) == ["model-a", "model-b"]
    expect(desktop.locator(".stat-row")).to_contain_text("18 annotations")
    screenshot(desktop, "annotation-dashboard-desktop")

    # A new label arrives: the live part refreshes by itself (polled every 5 s).
    item = project.items.get(external_id="a6")
    AnnotationFactory(item=item, annotator=workers[0], labels=labels(benevolence=1))
    expect(desktop.locator(".stat-row")).to_contain_text("19 annotations", timeout=15_000)
    desktop.wait_for_function(
        "() => Chart.getChart(document.getElementById('distribution-chart'))"
        ".data.datasets[2].data.reduce((a, b) => a + b, 0) === 21",
        timeout=15_000,
    )


def test_researcher_reviews_a_disputed_item_on_a_phone(
    live_server, phone, screenshot, researcher, project, workers
):
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}/annotation/projects/advice/dashboard/")
    expect(phone.locator("#agreement-table")).to_be_visible()
    screenshot(phone, "annotation-dashboard-phone")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 400, "the dashboard must not scroll sideways on a phone"

    phone.goto(f"{live_server.url}/annotation/projects/advice/review/")
    queue = phone.locator("#review-queue tbody tr")
    expect(queue).to_have_count(2)
    # The prompt is text, never markup.
    expect(queue.first).to_contain_text("<script>alert('x')</script>")
    queue.first.get_by_role("link").click()

    labels_table = phone.locator("#review-labels")
    for worker in workers:
        expect(labels_table).to_contain_text(worker.pseudonym)
    expect(labels_table).not_to_contain_text("worker0")
    screenshot(phone, "annotation-review-item-phone")
    power = phone.get_by_role("row", name="Power")
    power.get_by_text("+1").click()
    phone.get_by_role("button", name="Save and review the next item").click()

    expect(phone.locator(".messages")).to_contain_text("Final labels saved")
    first = Adjudication.objects.get()
    assert first.labels["power"] == 1 and first.reviewer.username == "rita"
    # It went straight on to the other disputed item.
    expect(phone.get_by_role("heading", name="Item")).to_contain_text("a")
    assert f"/review/{first.item_id}/" not in phone.url
