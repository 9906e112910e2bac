"""The researcher's explorer: page, per-context JSON, a value's and a pair's details, groups."""

import json

import pytest

from core.models import Participation
from elicitation.models import Deliberation
from moralgraph.selectors import explorer_document
from moralgraph.services import impression_record, vote_submit
from tests.factories import StudyFactory
from tests.moralgraph.conftest import make_voter

pytestmark = pytest.mark.django_db

API = "/api/moralgraph/deliberations/mg/contexts/{}/"


@pytest.fixture
def voted(world):
    """B → C judged wiser by two voters of study "s1" (one explains why), C → B once; and a cycle
    in "When making decisions" (D → E and E → D both judged wiser)."""
    study = StudyFactory(slug="s1", title="First wave")
    forward = world.story(world.distress, world.b, world.c, text="I learned to stay <i>first</i>.")
    backward = world.story(world.distress, world.c, world.b)
    d_e = world.story(world.deciding, world.d, world.e)
    e_d = world.story(world.deciding, world.e, world.d)
    for index, (story, choice, comment) in enumerate(
        [
            (forward, "wiser", "Care <b>first</b>"),
            (forward, "wiser", ""),
            (backward, "not_wiser", ""),
            (d_e, "wiser", ""),
            (d_e, "wiser", ""),
            (e_d, "wiser", ""),
            (e_d, "wiser", ""),
        ]
    ):
        voter = make_voter()
        if index < 2:
            Participation.objects.create(study=study, user=voter)
        impression_record(voter=voter, story=story)
        vote_submit(
            voter=voter,
            deliberation=world.deliberation,
            story=story,
            choice=choice,
            comment=comment,
        )
    return world


def test_the_explorer_page_shows_filters_rule_exports_and_the_busiest_context(voted, rita_client):
    page = rita_client.get("/moralgraph/mg/explorer/").content.decode()
    assert 'data-url="/api/moralgraph/deliberations/mg/contexts/' in page
    assert "Rule: majority" in page and "strict majority" in page
    for link in ("format=json", "format=graphml", "format=node-link", "/preferences/"):
        assert link in page
    assert "Study: First wave" in page
    assert "cytoscape-3.34.4.min.js" in page and "cdn" not in page.lower()


def test_the_scenario_filter_narrows_the_contexts(voted, rita_client):
    page = rita_client.get(f"/moralgraph/mg/explorer/?scenario={voted.s2.pk}").content.decode()
    assert "When making decisions" in page and "When in distress" not in page


def test_only_researchers_explore(voted, alice_client, api_for, alice):
    assert alice_client.get("/moralgraph/mg/explorer/").status_code == 302
    assert alice_client.get("/moralgraph/mg/").status_code == 302
    url = API.format(voted.distress.pk) + "explorer/"
    assert api_for(alice).get(url).status_code == 403
    pair = API.format(voted.distress.pk) + f"pairs/{voted.b.pk}/{voted.c.pk}/"
    assert api_for(alice).get(pair).status_code == 403


def test_the_context_json_ranks_values_and_reports_the_winner_and_cycles(voted, api_for, rita):
    client = api_for(rita)
    distress = client.get(API.format(voted.distress.pk) + "explorer/").json()
    deciding = client.get(API.format(voted.deciding.pk) + "explorer/").json()

    assert distress["winner"] == voted.c.pk
    assert [v["id"] for v in distress["values"]] == [voted.c.pk, voted.b.pk]
    assert distress["values"][0]["rank"] == 1
    assert distress["rule"] == "majority" and "strict majority" in distress["rule_text"]
    assert deciding["cycles"] == [sorted([voted.d.pk, voted.e.pk])]
    assert all(v["in_cycle"] for v in deciding["values"])


def test_a_participant_group_counts_only_its_voters(voted, api_for, rita):
    client = api_for(rita)
    group = client.get(API.format(voted.distress.pk) + "explorer/?group=s1").json()
    assert group["edges"][0]["counts"] == {"wiser": 2, "not_wiser": 0, "unsure": 0}
    nobody = client.get(API.format(voted.deciding.pk) + "explorer/?group=s1").json()
    assert nobody["edges"] == [] and nobody["values"] == []


def test_a_value_shows_its_card_and_its_pairs(voted, api_for, rita):
    data = api_for(rita).get(API.format(voted.distress.pk) + f"values/{voted.c.pk}/").json()
    assert data["card"]["title"] == "Deep care"
    assert data["card"]["policies"] == ["MOMENTS of deep care", "CHOICES that matter"]
    pairs = {(p["from"], p["to"]): p["counts"] for p in data["pairs"]}
    assert pairs[(voted.b.pk, voted.c.pk)]["wiser"] == 2
    assert pairs[(voted.c.pk, voted.b.pk)]["not_wiser"] == 1


def test_an_edge_shows_counts_both_ways_its_stories_and_comments(voted, api_for, rita):
    url = API.format(voted.distress.pk) + f"pairs/{voted.b.pk}/{voted.c.pk}/"
    data = api_for(rita).get(url).json()
    assert data["counts"] == {"wiser": 2, "not_wiser": 0, "unsure": 0}
    assert data["reverse_counts"] == {"wiser": 0, "not_wiser": 1, "unsure": 0}
    assert [s["story"] for s in data["stories"]][0] == "I learned to stay <i>first</i>."
    assert [s["impressions"] for s in data["stories"]] == [2, 1]
    assert [c["comment"] for c in data["comments"]] == ["Care <b>first</b>"]
    voter = data["comments"][0]["voter"]
    assert voter.startswith("p-") and voter not in {"alice", "bob"}  # a pseudonym, never a name


def test_a_pair_from_another_deliberation_is_not_found(voted, api_for, rita):
    from tests.elicitation.factories import ValuesCardFactory

    stranger = ValuesCardFactory()
    url = API.format(voted.distress.pk) + f"pairs/{voted.b.pk}/{stranger.pk}/"
    assert api_for(rita).get(url).status_code == 404


def test_the_deliberation_page_saves_the_rule_and_the_voting_policy(voted, rita_client):
    from moralgraph.selectors import graph_settings

    response = rita_client.post(
        "/moralgraph/mg/",
        {
            "rule": "dft-2023",
            "pairs_per_card": "4",
            "pair_weight_power": "1.5",
            "own_value_pairs": "1",
            "votes_per_session": "12",
        },
    )
    assert response.status_code == 302
    policy = graph_settings(voted.deliberation)
    assert (policy.rule, policy.pairs_per_card, policy.pair_weight_power) == ("dft-2023", 4, 1.5)
    assert (policy.own_value_pairs, policy.votes_per_session) == (1, 12)
    bad = rita_client.post(
        "/moralgraph/mg/",
        {
            "rule": "majority",
            "pairs_per_card": "x",
            "pair_weight_power": "1",
            "own_value_pairs": "0",
            "votes_per_session": "10",
        },
    )
    assert bad.status_code == 400
    assert "Enter a whole number." in bad.content.decode()
    assert graph_settings(voted.deliberation).rule == "dft-2023"


@pytest.mark.django_db
def test_the_real_study_names_a_winner_only_where_resampled_voters_agree(real_mge):
    from elicitation.models import MoralContext
    from moralgraph.importing import mge_import
    from moralgraph.snapshots import snapshots_recompute

    mge_import(directory=real_mge)
    deliberation = Deliberation.objects.get(name="mge")
    snapshots_recompute(deliberation=deliberation, force=True)

    documents = [
        json.loads(explorer_document(context=context)[0])
        for context in MoralContext.objects.filter(deliberation=deliberation)
    ]
    led = [d for d in documents if d["winner"] is not None and not d["tied"]]
    assert led and all(0 <= d["winner_share"] <= 1 for d in led)
    assert all(d["clear_winner"] == (d["winner_share"] >= 0.8) for d in led)
    # Some contexts' leaders win in under 80% of voter resamples: no clear winner there.
    assert any(not d["clear_winner"] for d in led) and any(d["clear_winner"] for d in led)


@pytest.mark.django_db
def test_the_deliberation_list_counts_each_table_on_its_own(
    tiny_mge, rita_client, django_assert_max_num_queries
):
    from moralgraph.importing import mge_import

    mge_import(directory=tiny_mge)
    Deliberation.objects.create(name="empty", title="Nothing yet")

    with django_assert_max_num_queries(8):
        page = rita_client.get("/moralgraph/").content.decode()

    row = page.split("<code>mge</code>")[1].split("</tr>")[0]
    assert [cell.split(">")[-1] for cell in row.split("</td>")[1:4]] == ["2", "4", "6"]
    empty = page.split("<code>empty</code>")[1].split("</tr>")[0]
    assert [cell.split(">")[-1] for cell in empty.split("</td>")[1:4]] == ["0", "0", "0"]


@pytest.mark.django_db
def test_an_imported_story_counts_the_votes_cast_on_it_as_showings(tiny_mge, rita, api_for):
    from elicitation.models import MoralContext, ValuesCard
    from moralgraph.importing import mge_import

    mge_import(directory=tiny_mge)
    context = MoralContext.objects.get(text="When in distress")
    one, two = (ValuesCard.objects.get(source_id=str(n), canonical__isnull=True) for n in (1, 2))

    data = (
        api_for(rita)
        .get(f"/api/moralgraph/deliberations/mge/contexts/{context.pk}/pairs/{one.pk}/{two.pk}/")
        .json()
    )

    # Two people voted on the story "I moved from 1 to 2." in this context: shown twice.
    assert [s["impressions"] for s in data["stories"] if s["from"] == one.pk] == [2]
