"""Value schemes are data: schwartz10 is seeded, researchers upload more as JSON."""

import pytest
from django.core.exceptions import ValidationError

from core.models import ValueScheme
from core.services import scheme_import
from tests.annotation.factories import SCHWARTZ10

pytestmark = pytest.mark.django_db

FOUNDATIONS = {
    "key": "mft5",
    "name": "Moral foundations",
    "dimensions": [
        {"key": "care", "name": "Care", "definition": "Protecting others from harm."},
        {
            "key": "fairness",
            "name": "Fairness",
            "definition": "Justice and reciprocity.",
            "examples": ["Sharing the prize equally."],
        },
    ],
}


def test_schwartz10_is_seeded_in_the_order_of_the_circle_with_definitions_and_examples():
    scheme = ValueScheme.objects.get(key="schwartz10")

    assert scheme.dimension_keys() == SCHWARTZ10
    for dimension in scheme.dimensions.all():
        assert len(dimension.definition) > 100
        assert len(dimension.examples) == 2


def test_given_a_valid_document_then_the_scheme_is_stored_in_its_order():
    scheme = scheme_import(data=FOUNDATIONS)

    assert scheme.dimension_keys() == ["care", "fairness"]
    assert scheme.dimensions.get(key="fairness").examples == ["Sharing the prize equally."]


def test_given_bad_dimensions_then_each_problem_is_named_and_nothing_is_stored():
    document = {
        "key": "bad",
        "name": "Bad",
        "dimensions": [
            {"key": "care", "name": "Care", "definition": "x"},
            {"key": "care", "name": "Again", "definition": "y"},
            {"key": "no spaces", "name": "", "definition": "z", "examples": "not a list"},
        ],
    }

    with pytest.raises(ValidationError) as raised:
        scheme_import(data=document)

    errors = raised.value.message_dict
    assert errors["dimensions[1].key"] == ["'care' appears twice"]
    assert "dimensions[2].key" in errors
    assert "dimensions[2].name" in errors
    assert errors["dimensions[2].examples"] == ["must be a list of texts"]
    assert not ValueScheme.objects.filter(key="bad").exists()


def test_a_taken_scheme_key_is_refused():
    with pytest.raises(ValidationError) as raised:
        scheme_import(data=FOUNDATIONS | {"key": "schwartz10"})

    assert "key" in raised.value.message_dict


def test_rita_uploads_a_scheme_through_the_api(api_for, rita):
    response = api_for(rita).post("/api/annotation/schemes/", FOUNDATIONS, format="json")

    assert response.status_code == 201
    assert [d["key"] for d in response.json()["dimensions"]] == ["care", "fairness"]


def test_alice_may_not_upload_a_scheme(api_for, alice):
    response = api_for(alice).post("/api/annotation/schemes/", FOUNDATIONS, format="json")

    assert response.status_code == 403


def test_an_invalid_scheme_upload_answers_400_with_the_field_named(api_for, rita):
    response = api_for(rita).post(
        "/api/annotation/schemes/", {"key": "x", "name": "X"}, format="json"
    )

    assert response.status_code == 400
    assert "dimensions" in response.json()
