"""Concurrent votes on one pair, or next-story requests, in threads with their own connections.

On PostgreSQL the test calls ``scenario_votes`` in-process. SQLite's test database lives in
shared memory, which has table locks instead of SQLite's file locking, so there the test runs
this module as a script against a fresh file database configured as deployed (WAL, IMMEDIATE).
"""

import json
import os
import sys
import threading


def race(n_threads: int, target) -> list:
    """Run ``target(i)`` in ``n_threads`` threads started together; return results or errors."""
    from django.db import connection

    barrier = threading.Barrier(n_threads)
    results: list = [None] * n_threads

    def run(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as error:  # noqa: BLE001 - reported to the test
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def scenario_votes(n_voters: int = 8) -> dict:
    """Voters shown one story all vote on it at once, then all change their answer at once."""
    from moralgraph.models import ContextSnapshot, Vote
    from moralgraph.services import impression_record, vote_submit
    from tests.moralgraph.conftest import World, make_voter

    world = World(make_voter("race-author"))
    story = world.story(world.distress, world.b, world.c)
    voters = [make_voter(f"race-voter{i}") for i in range(n_voters)]
    for voter in voters:
        impression_record(voter=voter, story=story)

    def vote(choice):
        def cast(i):
            return vote_submit(
                voter=voters[i], deliberation=world.deliberation, story=story, choice=choice
            )[1]

        return cast

    first = race(n_voters, vote("wiser"))
    second = race(n_voters, vote("not_wiser"))
    return {
        "errors": [repr(r) for r in first + second if isinstance(r, Exception)],
        "created": [r for r in first if not isinstance(r, Exception)],
        "updated": [r for r in second if not isinstance(r, Exception)],
        "votes": Vote.objects.filter(story=story).count(),
        "not_wiser": Vote.objects.filter(story=story, choice="not_wiser").count(),
        "changes": ContextSnapshot.objects.get(context=world.distress).changes,
    }


def scenario_next(n_requests: int = 6) -> dict:
    """One voter opens the vote page in several tabs at once: each asks for the next story."""
    from moralgraph.models import StoryImpression
    from moralgraph.services import story_show_next
    from tests.moralgraph.conftest import World, make_voter

    world = World(make_voter("race-author"))
    for from_card, to_card in [(world.b, world.c), (world.c, world.b), (world.d, world.e)]:
        world.story(world.distress if from_card != world.d else world.deciding, from_card, to_card)
    voter = make_voter("race-tabs")

    def show(_i):
        story = story_show_next(voter=voter, deliberation=world.deliberation)
        return story.pk if story else None

    shown = race(n_requests, show)
    return {
        "errors": [repr(r) for r in shown if isinstance(r, Exception)],
        "shown": sorted({r for r in shown if not isinstance(r, Exception)}),
        "impressions": sorted(
            StoryImpression.objects.filter(voter=voter).values_list("story_id", flat=True)
        ),
    }


SCENARIOS = {"votes": scenario_votes, "next": scenario_next}


def main() -> None:
    """Migrate the database DATABASE_URL names, run the scenario, print the facts as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    scenario = SCENARIOS[sys.argv[1] if len(sys.argv) > 1 else "votes"]
    json.dump(scenario(), sys.stdout)


if __name__ == "__main__":
    main()
