"""The MGE study's demographics: imported as voter attributes, offered as explorer groups."""

import json

import pytest
from django.core.management import call_command
from django.db.models import Count

from elicitation.models import MoralContext
from moralgraph.importing import MgeImportError, mge_import
from moralgraph.models import Vote, VoterAttribute
from tests.moralgraph.conftest import tiny_dump, write_dump

pytestmark = pytest.mark.django_db


def _person(user_id: int, **fields) -> dict:
    person = {
        "id": 100 + user_id,
        "userId": user_id,
        "usPoliticalAffiliation": "Democrat",
        "fluentLanguages": ["Spanish", "English"],
        "age": 34,
        "sex": "Female",
        "ethnicitySimplified": "Mixed",
        "countryOfBirth": "United States",
        "countryOfResidence": "United States",
        "nationality": "United States",
        "language": "English",
        "studentStatus": "DATA_EXPIRED",
        "employmentStatus": "Full-Time",
    }
    person.update(fields)
    return person


@pytest.fixture
def dump_with_demographics(tmp_path):
    files = tiny_dump()
    files["demographic.json"] = [
        _person(1),
        _person(2, usPoliticalAffiliation="Republican", age=67, sex="Male"),
        # Someone who never voted: nothing to filter, not imported.
        _person(99),
    ]
    return write_dump(tmp_path / "mge", files)


def test_demographics_become_voter_attributes_and_expired_answers_are_left_out(
    dump_with_demographics, capsys
):
    call_command("import_mge", str(dump_with_demographics))

    one = dict(VoterAttribute.objects.filter(voter__username="mge-1").values_list("name", "value"))
    assert one["US political affiliation"] == "Democrat"
    assert one["Age group"] == "30–44"
    assert one["Fluent languages"] == "English, Spanish"
    assert "Student" not in one  # DATA_EXPIRED is no answer
    two = dict(VoterAttribute.objects.filter(voter__username="mge-2").values_list("name", "value"))
    assert two["Age group"] == "60+" and two["Sex"] == "Male"
    assert not VoterAttribute.objects.filter(voter__username="mge-3").exists()
    assert not VoterAttribute.objects.filter(voter__username="mge-99").exists()
    assert "2 voters have some" in capsys.readouterr().out

    report = mge_import(directory=dump_with_demographics)
    assert report["created"]["voter_attributes"] == 0
    assert report["totals"]["voters_with_attributes"] == 2


def test_a_malformed_demographic_record_is_named_and_nothing_is_stored(tmp_path):
    files = tiny_dump()
    files["demographic.json"] = [_person(1), _person(2, age="old")]
    directory = write_dump(tmp_path / "bad", files)

    with pytest.raises(MgeImportError, match=r"^demographic.json record 1: age: expected an"):
        mge_import(directory=directory)
    assert not Vote.objects.exists() and not VoterAttribute.objects.exists()


def test_the_explorer_offers_each_attribute_with_its_n_and_counts_only_that_group(
    dump_with_demographics, rita_client, api_for, rita
):
    mge_import(directory=dump_with_demographics)
    page = rita_client.get("/moralgraph/mge/explorer/").content.decode()
    assert '<optgroup label="US political affiliation">' in page
    assert "US political affiliation: Democrat (n = 1 voter)" in page
    assert "Age group: 60+ (n = 1 voter)" in page

    distress = MoralContext.objects.get(text="When in distress")
    url = f"/api/moralgraph/deliberations/mge/contexts/{distress.pk}/explorer/"
    client = api_for(rita)
    everyone = client.get(url).json()
    democrats = client.get(url, {"group": "attr:US political affiliation=Democrat"}).json()
    assert democrats["group"] == "attr:US political affiliation=Democrat"
    # Voter 1 cast two votes in this context; everyone cast five.
    assert (democrats["group_voters"], democrats["group_votes"]) == (1, 2)
    assert sum(sum(e["counts"].values()) for e in democrats["edges"]) <= 2
    assert democrats["edges"] != everyone["edges"]
    nobody = client.get(url, {"group": "attr:US political affiliation=Green"}).json()
    assert (nobody["group_voters"], nobody["values"]) == (0, [])


def test_the_real_study_s_demographics_group_its_voters(real_mge, api_for, rita):
    mge_import(directory=real_mge)
    voters = json.loads((real_mge / "demographic.json").read_text())
    voted = set(Vote.objects.values_list("voter__username", flat=True))
    with_demographics = {f"mge-{person['userId']}" for person in voters} & voted
    assert len(with_demographics) == 297

    parties = dict(
        VoterAttribute.objects.filter(name="US political affiliation")
        .values_list("value")
        .annotate(n=Count("pk"))
    )
    assert parties == {"Independent": 129, "Democrat": 87, "Republican": 79}

    context = (
        MoralContext.objects.filter(deliberation__name="mge")
        .annotate(n=Count("votes"))
        .order_by("-n")
        .first()
    )
    url = f"/api/moralgraph/deliberations/mge/contexts/{context.pk}/explorer/"
    client = api_for(rita)
    sizes = {}
    for party in ("Democrat", "Republican", "Independent"):
        data = client.get(url, {"group": f"attr:US political affiliation={party}"}).json()
        expected = (
            Vote.objects.filter(
                context=context,
                voter__voter_attributes__name="US political affiliation",
                voter__voter_attributes__value=party,
            )
            .values("voter")
            .distinct()
            .count()
        )
        assert data["group_voters"] == expected > 0
        sizes[party] = data["group_voters"]
    assert sum(sizes.values()) <= context.votes.values("voter").distinct().count()
