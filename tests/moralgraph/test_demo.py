"""The demo: a small graph with a winner and a cycle, and a voting task in the demo study."""

import json

import pytest
from django.core.management import call_command

from core.models import StudyTask
from moralgraph.demo import DEMO_DELIBERATION
from moralgraph.models import ContextSnapshot, UpgradeStory, Vote
from moralgraph.study_tasks import KIND

pytestmark = pytest.mark.django_db


def test_seed_demo_twice_makes_one_graph_and_one_voting_task(capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    assert UpgradeStory.objects.filter(deliberation__name=DEMO_DELIBERATION).count() == 6
    assert Vote.objects.filter(deliberation__name=DEMO_DELIBERATION).count() == 12
    assert StudyTask.objects.filter(study__slug="demo", kind=KIND).count() == 1
    documents = [json.loads(s.document) for s in ContextSnapshot.objects.order_by("context_id")]
    assert documents[0]["winner"] is not None and not documents[0]["tied"]
    assert documents[1]["cycles"] and documents[1]["tied"]
    assert "kept moral graph demo deliberation demo-graph" in capsys.readouterr().out
