"""Benchmark the moral graph: edges and scores from vote tuples, and one context's explorer data.

    python bench/bench_moralgraph.py [--values 10000] [--contexts 50] [--votes 100000] [--seed 1]

A synthetic deliberation (values with a hidden "wisdom", voters who mostly agree with it) and,
when ../shared/data/mge is there, the published study's 1,592 votes. Pure computation: no
database; prints a table.
"""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moralgraph import graph  # noqa: E402

REAL_MGE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mge"
RELATIONSHIPS = {"upgrade": graph.WISER, "no_upgrade": graph.NOT_WISER, "not_sure": graph.UNSURE}


def synthetic_votes(values: int, contexts: int, votes: int, seed: int) -> list[tuple]:
    """Return ``votes`` vote tuples over ``values`` values in ``contexts`` contexts.

    Like the study, votes concentrate on a few candidate pairs per context (about 2.5 votes a
    pair), so edges exist; each value appears in a few contexts.
    """
    rng = random.Random(seed)
    wisdom = [rng.random() for _ in range(values)]
    pairs_per_context = max(1, votes // contexts * 2 // 5)
    candidates = []
    for context in range(contexts):
        members = rng.sample(range(values), k=min(values, max(2, values * 3 // contexts)))
        for _ in range(pairs_per_context):
            a, b = rng.sample(members, 2)
            candidates.append((a, b, context))
    rows = []
    for index in range(votes):
        a, b, context = rng.choice(candidates)
        p_wiser = 0.5 + 0.45 * (wisdom[b] - wisdom[a])
        roll = rng.random()
        choice = (
            graph.WISER
            if roll < p_wiser
            else graph.UNSURE
            if roll < p_wiser + 0.15
            else graph.NOT_WISER
        )
        rows.append((index % (votes // 3 + 1), a, b, context, choice))
    return rows


def real_votes(before: str | None = None) -> list[tuple]:
    rows = json.loads((REAL_MGE / "edge.json").read_text())
    return [
        (
            row["userId"],
            row["fromId"],
            row["toId"],
            row["contextId"],
            RELATIONSHIPS[row["relationship"]],
        )
        for row in rows
        if before is None or row["createdAt"] < before
    ]


def timed(function, repeat: int) -> tuple[float, object]:
    """Return the median seconds of ``repeat`` runs of ``function`` and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def report(name: str, votes: list[tuple], repeat: int) -> None:
    for rule in graph.RULES:
        seconds, built = timed(lambda rule=rule: graph.build(votes, rule=rule), repeat)
        busiest = max(built.scores, key=lambda c: len(built.scores[c].pagerank))
        view_seconds, view = timed(
            lambda built=built, busiest=busiest: graph.context_view(built, busiest), repeat * 3
        )
        cycles = sum(len(score.cycles) for score in built.scores.values())
        print(
            f"| {name} | {rule} | {len(votes):,} | {len(built.value_ids):,} | {len(built.edges):,} "
            f"| {cycles} | {seconds:.3f} s "
            f"| {view_seconds * 1000:.1f} ms ({len(view['values'])} values) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=10_000)
    parser.add_argument("--contexts", type=int, default=50)
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        "| data | rule | votes | values voted | edges | cycles | all edges + scores "
        "| one context's view |"
    )
    print("|---|---|---|---|---|---|---|---|")
    report(
        "synthetic", synthetic_votes(args.values, args.contexts, args.votes, args.seed), args.repeat
    )
    if (REAL_MGE / "edge.json").is_file():
        report("MGE study", real_votes(), args.repeat * 3)
        report("MGE < 2023-10-18", real_votes("2023-10-18"), args.repeat * 3)
    else:
        print(f"(no real data at {REAL_MGE})")


if __name__ == "__main__":
    main()
