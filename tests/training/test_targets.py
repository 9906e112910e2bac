"""Targets: presets, sliders and uploads for researchers; the PVQ-40 profile for participants."""

import json
from pathlib import Path

import pytest

from core.models import StudyTask, TaskCompletion
from tests.factories import ParticipationFactory, StudyFactory
from training import pvq, targets
from training.models import Target
from training.schemes import SCHWARTZ10

PVQ_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "pvq40" / "pvq40_items.csv"


def answers_security_high_power_low() -> dict[int, int]:
    """Every item 3, the five security items 6, the three power items 1."""
    answers = {number: 3 for number in range(1, 41)}
    answers |= {number: 6 for number in (5, 14, 21, 31, 35)}
    answers |= {number: 1 for number in (2, 17, 39)}
    return answers


# --- Scoring, by hand ---------------------------------------------------------------------------


def test_pvq_scoring_matches_a_hand_worked_example():
    # Sum = 32 items x 3 + 5 x 6 + 3 x 1 = 129; the person's mean = 129 / 40 = 3.225.
    # security: 6 - 3.225 = 2.775; power: 1 - 3.225 = -2.225; every other value: -0.225.
    # Divided by the largest |centred| (2.775): security 1, power -0.8018, others -0.0811.
    profile = pvq.score(answers_security_high_power_low(), SCHWARTZ10)

    assert profile.mean_rating == pytest.approx(3.225)
    assert profile.raw["security"] == 6 and profile.raw["power"] == 1
    assert profile.centred["security"] == pytest.approx(2.775)
    assert profile.centred["power"] == pytest.approx(-2.225)
    assert profile.centred["tradition"] == pytest.approx(-0.225)
    assert profile.target["security"] == 1.0
    assert profile.target["power"] == pytest.approx(-0.8018, abs=1e-4)
    assert profile.target["benevolence"] == pytest.approx(-0.0811, abs=1e-4)
    assert all(-1 <= value <= 1 for value in profile.target.values())


def test_someone_who_rates_everything_the_same_gets_a_neutral_target():
    profile = pvq.score({number: 5 for number in range(1, 41)}, SCHWARTZ10)

    assert set(profile.target.values()) == {0.0}


def test_the_scoring_key_covers_each_of_the_40_items_once():
    assert sorted(pvq.VALUE_OF_ITEM) == list(range(1, 41))
    assert set(pvq.ITEMS_OF_VALUE) == set(SCHWARTZ10)


@pytest.mark.parametrize(
    "change, message",
    [({7: None}, "item 7: not answered"), ({12: "9"}, "item 12: '9' is not a number from 1 to 6")],
)
def test_a_missing_or_bad_answer_is_named(change, message):
    answers = {number: 3 for number in range(1, 41)} | change

    with pytest.raises(pvq.PVQError, match=message):
        pvq.check_answers(answers)


@pytest.mark.skipif(not PVQ_FILE.exists(), reason="../shared/data is absent")
def test_the_shared_item_file_agrees_with_the_scoring_key_and_reads_cleanly():
    items = pvq.load_items(PVQ_FILE)

    assert [item.value for item in items] == [pvq.VALUE_OF_ITEM[n] for n in range(1, 41)]
    assert not any("??" in item.text for item in items)


def test_an_item_file_that_disagrees_with_the_key_is_refused_naming_the_line(tmp_path):
    rows = ["questionnaire,item,value,agreement"] + [
        f"PVQ40,Item {n},{pvq.VALUE_OF_ITEM[n]},1" for n in range(1, 41)
    ]
    rows[3] = "PVQ40,Item 3,Power,1"
    path = tmp_path / "items.csv"
    path.write_text("\n".join(rows))

    with pytest.raises(pvq.PVQError, match="line 4: value 'Power'"):
        pvq.load_items(path)


# --- Target vectors ------------------------------------------------------------------------------


def test_the_fulcra_preset_upholds_its_five_values_and_leaves_the_rest_at_zero():
    vector = targets.PRESETS["fulcra"].vector(SCHWARTZ10)

    assert {k for k, v in vector.items() if v == 1} == {
        "security",
        "conformity",
        "benevolence",
        "universalism",
        "achievement",
    }
    assert {v for k, v in vector.items()} == {0.0, 1.0}


@pytest.mark.parametrize(
    "vector, message",
    [
        ({"security": 1}, "self_direction, .*: missing"),
        ({k: 0 for k in SCHWARTZ10} | {"Humility": 1}, "Humility: not a dimension"),
        ({k: 0 for k in SCHWARTZ10} | {"power": 1.5}, r"power: 1.5 is outside \[-1, 1\]"),
        ({k: 0 for k in SCHWARTZ10} | {"hedonism": "high"}, "hedonism: 'high' is not a number"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_dimension(vector, message):
    with pytest.raises(targets.TargetError, match=message):
        targets.validate_vector(vector, SCHWARTZ10)


def test_keys_match_case_insensitively_with_dashes_and_underscores_alike():
    vector = targets.validate_vector(
        {"Self-Direction": 0.5} | {k: 0 for k in SCHWARTZ10[1:]}, SCHWARTZ10
    )

    assert vector["self_direction"] == 0.5 and list(vector) == SCHWARTZ10


# --- Pages ---------------------------------------------------------------------------------------


def test_a_researcher_saves_a_slider_target_and_saving_again_replaces_it(rita_client, rita):
    form = {"action": "sliders", "name": "Caring"} | {k: "0" for k in SCHWARTZ10}
    form["benevolence"] = "0.8"

    first = rita_client.post("/training/targets/", form)
    second = rita_client.post("/training/targets/", form | {"power": "-0.3"})

    target = Target.objects.get()
    assert first.status_code == second.status_code == 302
    assert target.kind == Target.Kind.SLIDER and target.owner == rita
    assert target.vector["benevolence"] == 0.8 and target.vector["power"] == -0.3
    page = rita_client.get(second["Location"])
    assert b"Caring" in page.content and b"target-chart" in page.content


def test_a_researcher_saves_a_preset(rita_client):
    response = rita_client.post("/training/targets/", {"action": "preset", "preset": "fulcra"})

    assert response.status_code == 302
    assert Target.objects.get().vector == targets.PRESETS["fulcra"].vector(SCHWARTZ10)


def test_an_uploaded_country_profile_becomes_a_group_target(rita_client, tmp_path):
    profile = {"name": "Country A", "target": {k: 0.1 for k in SCHWARTZ10}}
    path = tmp_path / "country.json"
    path.write_text(json.dumps(profile))

    with path.open("rb") as upload:
        response = rita_client.post("/training/targets/", {"action": "upload", "file": upload})

    target = Target.objects.get()
    assert response.status_code == 302
    assert target.name == "Country A" and target.kind == Target.Kind.GROUP


def test_an_upload_missing_a_dimension_is_refused_naming_it_and_nothing_is_stored(
    rita_client, tmp_path
):
    path = tmp_path / "group.json"
    path.write_text(json.dumps({k: 0.2 for k in SCHWARTZ10 if k != "tradition"}))

    with path.open("rb") as upload:
        response = rita_client.post("/training/targets/", {"action": "upload", "file": upload})

    assert response.status_code == 400
    assert "group.json: tradition: missing" in response.content.decode()
    assert not Target.objects.exists()


def test_participants_never_see_the_researchers_targets(alice_client, rita):
    target = Target.objects.create(
        owner=rita, name="x", kind="preset", vector={k: 0 for k in SCHWARTZ10}
    )

    assert alice_client.get("/training/targets/").status_code == 302
    assert alice_client.get(f"/training/targets/{target.pk}/").status_code == 404


@pytest.fixture
def pvq_items(settings, tmp_path):
    rows = ["questionnaire,item,value,agreement"] + [
        f"PVQ40,Portrait number {n}.,{pvq.VALUE_OF_ITEM[n]},1" for n in range(1, 41)
    ]
    path = tmp_path / "items.csv"
    path.write_text("\n".join(rows))
    settings.TRAINING_PVQ40_ITEMS = str(path)
    return path


def test_a_participant_answers_the_pvq_and_sees_their_own_profile(
    alice_client, alice, bob_client, pvq_items
):
    page = alice_client.get("/training/pvq/")
    assert page.status_code == 200 and b"Portrait number 40." in page.content
    form = {f"item-{n}": str(v) for n, v in answers_security_high_power_low().items()}

    response = alice_client.post("/training/pvq/", form)
    again = alice_client.post("/training/pvq/", form)

    target = Target.objects.get()
    assert response.status_code == again.status_code == 302
    assert target.owner == alice and target.kind == Target.Kind.INDIVIDUAL
    assert target.vector["security"] == 1.0
    assert target.details["centred"]["power"] == pytest.approx(-2.225)
    shown = alice_client.get(response["Location"])
    assert shown.status_code == 200 and b"target-chart" in shown.content
    assert bob_client.get(response["Location"]).status_code == 404


def test_a_pvq_profile_records_the_page_version_it_was_answered_on(alice_client, pvq_items):
    page = alice_client.get("/training/pvq/").content.decode()
    assert 'name="page_version" value="pvq-2"' in page
    form = {f"item-{n}": "4" for n in range(1, 41)}

    alice_client.post("/training/pvq/", form | {"page_version": "pvq-2"})
    first = Target.objects.get().details["page_version"]
    alice_client.post("/training/pvq/", form | {"page_version": "<b>forged</b>"})

    assert first == "pvq-2"
    assert Target.objects.get().details["page_version"] == "pvq-2"  # not a page: the current one


def test_an_unanswered_item_is_named_and_the_other_answers_kept(alice_client, pvq_items):
    form = {f"item-{n}": "4" for n in range(1, 41) if n != 23}

    response = alice_client.post("/training/pvq/", form)

    assert response.status_code == 400
    assert "item 23: not answered" in response.content.decode()
    assert response.content.decode().count("checked") == 39
    assert not Target.objects.exists()


def test_the_pvq_as_a_study_task_is_marked_done_when_answered(alice_client, alice, pvq_items):
    study = StudyFactory()
    task = StudyTask.objects.create(study=study, kind="training.pvq40", title="Your values")
    ParticipationFactory(study=study, user=alice)
    form = {f"item-{n}": "4" for n in range(1, 41)} | {"task": str(task.pk)}

    alice_client.post("/training/pvq/", form)

    assert TaskCompletion.objects.filter(task=task, participation__user=alice).exists()


def test_the_pvq_page_says_so_when_the_items_are_not_installed(alice_client, settings, tmp_path):
    settings.TRAINING_PVQ40_ITEMS = str(tmp_path / "absent.csv")

    assert alice_client.get("/training/pvq/").status_code == 503
