"""Values cards: the contracts' shape, validation, merging into a canonical card."""

import pytest
from django.core.exceptions import ValidationError

from elicitation.models import MoralContext
from elicitation.selectors import card_as_contract, cards_canonical
from elicitation.services.cards import card_create, card_merge
from elicitation.services.deliberations import context_create, deliberation_create
from tests.elicitation.factories import DeliberationFactory, ValuesCardFactory

pytestmark = pytest.mark.django_db


def test_card_is_exported_in_the_contracts_shape_with_the_authors_pseudonym(alice):
    deliberation = deliberation_create(name="d1", title="D1")
    card = card_create(
        deliberation=deliberation,
        title="Informed Autonomy",
        description="Help them decide for themselves.",
        policies=["OPTIONS they may not have seen", "FEELINGS they hold about each"],
        author=alice,
    )
    assert card_as_contract(card) == {
        "id": card.pk,
        "title": "Informed Autonomy",
        "description": "Help them decide for themselves.",
        "policies": ["OPTIONS they may not have seen", "FEELINGS they hold about each"],
        "scenario": None,
        "context": None,
        "author": alice.pseudonym,
        "canonical_id": card.pk,
    }
    assert "alice" not in str(card_as_contract(card))


def test_merged_card_points_at_its_canonical_and_keeps_its_wording():
    canonical = ValuesCardFactory(title="Canonical")
    duplicate = ValuesCardFactory(deliberation=canonical.deliberation, title="My own words")
    follower = ValuesCardFactory(deliberation=canonical.deliberation, canonical=duplicate)

    card_merge(card=duplicate, into=canonical)

    duplicate.refresh_from_db()
    follower.refresh_from_db()
    assert card_as_contract(duplicate)["canonical_id"] == canonical.pk
    assert duplicate.title == "My own words"
    assert follower.canonical_id == canonical.pk  # no chain of canonicals
    assert list(cards_canonical(deliberation=canonical.deliberation)) == [canonical]


def test_card_cannot_merge_into_a_card_of_another_deliberation():
    card = ValuesCardFactory()
    elsewhere = ValuesCardFactory(deliberation=DeliberationFactory())
    with pytest.raises(ValidationError) as error:
        card_merge(card=card, into=elsewhere)
    assert "canonical" in error.value.message_dict
    card.refresh_from_db()
    assert card.canonical_id is None


@pytest.mark.parametrize("policies", ["not a list", [""], [1, 2]])
def test_card_policies_must_be_a_list_of_strings(policies):
    deliberation = DeliberationFactory()
    with pytest.raises(ValidationError) as error:
        card_create(deliberation=deliberation, title="T", description="D", policies=policies)
    assert "policies" in error.value.message_dict


def test_context_text_is_unique_within_a_deliberation():
    deliberation = DeliberationFactory()
    context_create(deliberation=deliberation, text="When in distress")
    with pytest.raises(ValidationError):
        context_create(deliberation=deliberation, text="When in distress")
    context_create(deliberation=DeliberationFactory(), text="When in distress")
    assert MoralContext.objects.filter(text="When in distress").count() == 2
