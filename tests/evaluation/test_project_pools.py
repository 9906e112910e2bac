"""A researcher takes an annotation project's prompts as an item pool (page and API)."""

import pytest

from evaluation.models import ItemPool
from tests.annotation.factories import ItemFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = ProjectFactory(slug="dilemmas", name="Dilemmas")
    ItemFactory(project=project, external_id="d1", prompt="Should I lend my brother money?")
    # A second model's response to the same prompt: one item of the pool, not two.
    ItemFactory(project=project, external_id="d1-b", prompt="Should I lend my brother money?")
    ItemFactory(project=project, external_id="d2", prompt="Is it fine to skip <b>voting</b>?")
    ItemFactory(project=project, external_id="t1", prompt="Training example", kind="training")
    ItemFactory(project=project, external_id="a1", prompt="Attention: pick 0", kind="attention")
    return project


def test_the_home_page_takes_a_projects_distinct_prompts_with_where_each_came_from(
    rita_client, project
):
    page = rita_client.post(
        "/evaluation/", {"action": "project_pool", "project": project.pk}, follow=True
    ).content.decode()

    assert "Pool “dilemmas v1” has 2 prompts." in page
    pool = ItemPool.objects.get(name="dilemmas")
    assert pool.provenance == ItemPool.Provenance.ANNOTATION
    assert "dilemmas" in pool.source
    items = list(pool.items.order_by("position").values_list("key", "prompt", "meta"))
    assert items == [
        ("d1", "Should I lend my brother money?", {"source": "annotation:dilemmas/d1"}),
        ("d2", "Is it fine to skip <b>voting</b>?", {"source": "annotation:dilemmas/d2"}),
    ]
    listed = rita_client.get("/evaluation/").content.decode()
    assert "Annotation project" in listed and "<b>voting</b>" not in listed


def test_the_api_takes_the_prompts_once_and_a_new_version_only_when_they_changed(
    api_for, rita, project
):
    client = api_for(rita)
    first = client.post("/api/evaluation/pools/from-project/", {"project": "dilemmas"})
    again = client.post("/api/evaluation/pools/from-project/", {"project": "dilemmas"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["provenance"], first.json()["n_items"]) == ("annotation", 2)

    ItemFactory(project=project, external_id="d3", prompt="May I read my partner's messages?")
    changed = client.post("/api/evaluation/pools/from-project/", {"project": "dilemmas"})
    assert (changed.json()["version"], changed.json()["n_items"]) == (2, 3)


def test_an_empty_or_unknown_project_is_refused_by_name(api_for, rita, alice, rita_client):
    ProjectFactory(slug="empty")
    client = api_for(rita)
    empty = client.post("/api/evaluation/pools/from-project/", {"project": "empty"})
    assert empty.status_code == 400
    assert "“empty” has no prompts" in str(empty.json())
    missing = client.post("/api/evaluation/pools/from-project/", {"project": "nope"})
    assert missing.status_code == 404
    assert not ItemPool.objects.exists()
    participant = api_for(alice).post("/api/evaluation/pools/from-project/", {"project": "empty"})
    assert participant.status_code == 403
