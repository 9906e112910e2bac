"""The demo project: seeded once, linked to the core demo study when it exists."""

import pytest

from annotation.demo import DEMO_ITEMS, seed_demo
from annotation.models import Project
from tests.factories import StudyFactory

pytestmark = pytest.mark.django_db


def test_seeding_twice_makes_one_project_with_its_items_once():
    study = StudyFactory(slug="demo")

    seed_demo()
    lines = seed_demo()

    project = Project.objects.get(slug="demo-fulcra")
    assert project.items.count() == len(DEMO_ITEMS) == 10
    assert project.study == study
    assert project.scheme.key == "schwartz10"
    assert lines == [
        "kept annotation project demo-fulcra",
        "annotation project demo-fulcra: 10 items",
    ]


def test_the_demo_comes_with_labels_to_look_at_and_items_left_to_label():
    from annotation.assignment import item_next_for_worker
    from annotation.models import Annotation, Slot
    from annotation.selectors import project_dashboard
    from tests.factories import UserFactory

    lines = seed_demo()

    project = Project.objects.get(slug="demo-fulcra")
    assert "annotation project demo-fulcra: 18 demo annotations" in lines
    per_item = Annotation.objects.filter(item__project=project).values_list("item_id", flat=True)
    assert sorted(set(per_item)) == sorted(
        project.items.order_by("pk").values_list("pk", flat=True)[:6]
    )
    # Every demo label sits on a done slot of its own annotator: k per item, nobody twice.
    done = Slot.objects.filter(project=project, state="done")
    assert done.count() == 18 == len(set(done.values_list("item_id", "worker_id")))
    figures = project_dashboard(project=project)
    assert figures["items_complete"] == 6
    # One item splits three ways on a value: it waits for a reviewer.
    from annotation.review import review_queue

    assert len(review_queue(project=project)) == 1
    # Someone trying the demo still gets an item.
    visitor = UserFactory(username="visitor")
    answer = item_next_for_worker(project=project, worker=visitor)
    assert answer.slot is not None and answer.slot.item_id not in set(per_item)


def test_without_the_demo_study_the_project_stands_alone():
    seed_demo()

    assert Project.objects.get(slug="demo-fulcra").study is None
