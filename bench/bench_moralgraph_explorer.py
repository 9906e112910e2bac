"""Benchmark the moral graph through the database: recompute every snapshot, and serve one
context's explorer data (the page's JSON, through the full Django request path).

    python bench/bench_moralgraph_explorer.py [--values 10000] [--contexts 50] [--votes 100000]
        [--database-url sqlite:////tmp/mg-bench.sqlite3] [--repeat 20]

Builds a fresh database (SQLite file by default; any DATABASE_URL works, e.g. a throwaway
PostgreSQL database), loads the synthetic deliberation of bench_moralgraph.py and, when
../shared/data/mge is there, the published study with ``import_mge``. Prints a table.
Targets (the moral graph issue): all edges and scores under 2 s, one context's explorer data
under 200 ms.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def timed(function, repeat: int) -> tuple[float, object]:
    """Return the median seconds of ``repeat`` runs of ``function`` and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def load_synthetic(values: int, contexts: int, votes: int, seed: int):
    """Store the synthetic deliberation "synthetic"; return it."""
    from bench_moralgraph import synthetic_votes
    from django.db import transaction

    from core.models import User
    from elicitation.models import Deliberation, MoralContext, ValuesCard
    from moralgraph.models import Vote

    rows = synthetic_votes(values, contexts, votes, seed)
    with transaction.atomic():
        deliberation = Deliberation.objects.create(name="synthetic", title="Synthetic")
        context_rows = MoralContext.objects.bulk_create(
            MoralContext(deliberation=deliberation, text=f"Context {i}") for i in range(contexts)
        )
        card_rows = ValuesCard.objects.bulk_create(
            (
                ValuesCard(
                    deliberation=deliberation,
                    title=f"Value {i}",
                    description=f"What value {i} attends to.",
                    policies=[f"MOMENTS of value {i}"],
                )
                for i in range(values)
            ),
            batch_size=2000,
        )
        context_ids = [c.pk for c in context_rows] or list(
            MoralContext.objects.filter(deliberation=deliberation)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        card_ids = (
            [c.pk for c in card_rows]
            if card_rows[0].pk
            else list(
                ValuesCard.objects.filter(deliberation=deliberation)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        )
        voter_count = max(row[0] for row in rows) + 1
        User.objects.bulk_create(
            (
                User(username=f"synthetic-{i}", pseudonym=f"p-syn{i}", role="participant")
                for i in range(voter_count)
            ),
            batch_size=2000,
        )
        users = dict(
            User.objects.filter(username__startswith="synthetic-").values_list("username", "pk")
        )
        seen, new = set(), []
        for voter, a, b, context, choice in rows:
            key = (voter, a, b, context)
            if key in seen:
                continue
            seen.add(key)
            new.append(
                Vote(
                    deliberation=deliberation,
                    context_id=context_ids[context],
                    from_card_id=card_ids[a],
                    to_card_id=card_ids[b],
                    voter_id=users[f"synthetic-{voter}"],
                    choice=choice,
                )
            )
        Vote.objects.bulk_create(new, batch_size=5000)
    return deliberation, len(new)


def report(name: str, deliberation, repeat: int, client) -> None:
    from django.db.models import Count

    from moralgraph.models import ContextSnapshot, Vote
    from moralgraph.selectors import rule_for
    from moralgraph.snapshots import snapshots_mark_changed, snapshots_recompute

    n_votes = Vote.objects.filter(deliberation=deliberation).count()
    recompute, _ = timed(lambda: snapshots_recompute(deliberation=deliberation, force=True), 3)
    busiest = (
        ContextSnapshot.objects.filter(deliberation=deliberation).order_by("-n_values").first()
    )

    def after_one_vote():
        # What a vote costs: its context marked stale, then the recompute job's work.
        snapshots_mark_changed(deliberation=deliberation, context_ids=[busiest.context_id])
        return snapshots_recompute(deliberation=deliberation)

    incremental, _ = timed(after_one_vote, 3)
    url = f"/api/moralgraph/deliberations/{deliberation.name}/contexts/{busiest.context_id}/"
    explorer, response = timed(lambda: client.get(url + "explorer/"), repeat)
    assert response.status_code == 200, response.content[:200]
    pair = (
        Vote.objects.filter(deliberation=deliberation, context_id=busiest.context_id)
        .values("from_card_id", "to_card_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    value_seconds, response = timed(
        lambda: client.get(url + f"values/{pair['to_card_id']}/"), repeat
    )
    assert response.status_code == 200
    pair_seconds, response = timed(
        lambda: client.get(url + f"pairs/{pair['from_card_id']}/{pair['to_card_id']}/"), repeat
    )
    assert response.status_code == 200
    print(
        f"| {name} | {rule_for(deliberation)} | {n_votes:,} | {recompute:.2f} s "
        f"| {incremental:.2f} s "
        f"| {busiest.n_values:,} values, {busiest.n_edges:,} edges | {explorer * 1000:.1f} ms "
        f"| {value_seconds * 1000:.1f} ms | {pair_seconds * 1000:.1f} ms |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--contexts", type=int, default=50)
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="mg-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ.setdefault("CONN_MAX_AGE", "60")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from core.models import User

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    researcher = User.objects.create(username="bench-rita", role=User.Role.RESEARCHER)
    client = Client()
    client.force_login(researcher)
    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    start = time.perf_counter()
    deliberation, stored = load_synthetic(args.values, args.contexts, args.votes, args.seed)
    print(f"loaded {stored:,} synthetic votes in {time.perf_counter() - start:.1f} s")
    print(
        "| data | rule | votes | recompute every snapshot | recompute after one vote "
        "| busiest context "
        "| its explorer JSON | a value's details | a pair's details |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    report("synthetic", deliberation, args.repeat, client)
    from moralgraph.services import graph_rule_set

    graph_rule_set(deliberation=deliberation, rule="dft-2023")
    deliberation.refresh_from_db()
    report("synthetic", deliberation, args.repeat, client)
    real = ROOT.parent / "shared" / "data" / "mge"
    if (real / "edge.json").is_file():
        from moralgraph.importing import mge_import

        mge_import(directory=real)
        from elicitation.models import Deliberation

        report("MGE study", Deliberation.objects.get(name="mge"), args.repeat, client)
    else:
        print(f"(no real data at {real})")


if __name__ == "__main__":
    main()
