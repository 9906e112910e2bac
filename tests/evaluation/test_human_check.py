"""Human check: a run's pairs go to an annotation project; the run page shows agreement."""

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Item
from evaluation.human_check import human_agreement, human_check_send
from tests.annotation.factories import AnnotationFactory, labels, schwartz10_scheme
from tests.evaluation.factories import done_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def careful_run(rita):
    schwartz10_scheme()
    return done_run("careful", 0.8)


def test_a_sample_goes_to_one_project_and_sending_again_adds_nothing_twice(careful_run, rita):
    sent = human_check_send(run=careful_run, sample=5, user=rita)
    assert sent["stored"] == 5
    project = sent["project"]
    assert project.items.count() == 5
    item = project.items.first()
    assert item.response.startswith("careful says")

    again = human_check_send(run=careful_run, sample=5, user=rita)
    assert again["project"] == project
    assert again["stored"] == 0 and again["duplicates"] == 5
    more = human_check_send(run=careful_run, sample=8, user=rita)
    assert more["stored"] == 3
    assert project.items.count() == 8


def test_agreement_compares_the_evaluator_with_peoples_majority(careful_run, rita_client, rita):
    project = human_check_send(run=careful_run, sample=4, user=rita)["project"]
    assert human_agreement(run=careful_run) is None  # nobody labelled yet
    items = list(Item.objects.filter(project=project).order_by("pk"))
    # The evaluator says +1 on security everywhere; people agree on 3 of the 4 pairs.
    for item, security in zip(items, [1, 1, 1, -1], strict=True):
        AnnotationFactory(item=item, labels=labels(security=security))

    agreement = human_agreement(run=careful_run)

    assert agreement["n"] == 4
    assert agreement["values"]["security"]["agree"] == 0.75
    assert agreement["values"]["security"]["n"] == 4
    assert agreement["values"]["power"]["agree"] == 1.0
    low, high = agreement["values"]["security"]["ci"]
    assert low < 0.75 < high
    page = rita_client.get(f"/evaluation/runs/{careful_run.pk}/").content.decode()
    assert "People labelled 4 of this run" in page
    assert 'id="agreement-table"' in page


def test_only_a_finished_run_can_be_checked(rita):
    schwartz10_scheme()
    run = done_run("careful", 0.8)
    run.status = "paused"
    run.save()
    with pytest.raises(ValidationError, match="once the run is done"):
        human_check_send(run=run, sample=3, user=rita)
