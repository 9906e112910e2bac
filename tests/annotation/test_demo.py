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


def test_without_the_demo_study_the_project_stands_alone():
    seed_demo()

    assert Project.objects.get(slug="demo-fulcra").study is None
