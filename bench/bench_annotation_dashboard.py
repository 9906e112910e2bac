"""Time the researcher dashboard's full recompute and the review queue's first load.

    python bench/bench_annotation_dashboard.py [--items 100000] [--workers 50] [--skip-seed]
        [--repeat 2] [--profile] [--out FILE]

The default seed is 100,000 items with 300,000 annotations (three of ~50 workers on each
item), an LLM pre-label on every item but every tenth, reference labels on one item in fifty
(gold), one worker excluded. Labels lean to 0, as real ones do.

With no DATABASE_URL it uses a throwaway SQLite file in the temporary folder; with one (e.g.
``postgres://postgres@127.0.0.1:5432/bench``) it uses that database and leaves the bench project
there. ``--out`` writes the figures as JSON (to compare two versions); ``--profile`` prints the
top of a cProfile of one recompute. Peak memory is the process's peak resident set size.
"""

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")

BENCH_PROJECT = "bench-dashboard"
SEED_BATCH = 5000
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "valuelab-bench-dashboard.sqlite3"


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(items: int, workers: int, overlap: int) -> None:
    """Create the bench project: ``items`` items, each labelled by ``overlap`` of ``workers``."""
    from django.db import transaction

    from annotation.models import Annotation, Item, Prelabel, Project
    from annotation.services import project_create
    from core.models import User

    try:
        from core.models import ValueScheme
    except ImportError:  # before value schemes moved to core
        from annotation.models import ValueScheme

    Project.objects.filter(slug=BENCH_PROJECT).delete()
    scheme = ValueScheme.objects.get(key="schwartz10")
    keys = scheme.dimension_keys()
    project = project_create(
        name="Dashboard bench", slug=BENCH_PROJECT, scheme=scheme, created_by=None, overlap=overlap
    )
    people = [User.objects.get_or_create(username=f"bench-worker-{n}")[0] for n in range(workers)]
    rng = random.Random(11)

    def labels(base=None):
        if base is not None and rng.random() < 0.7:
            return dict(base)  # agrees with the pre-label (or the truth)
        return {key: rng.choice((-1, 0, 0, 0, 0, 1)) for key in keys}

    for start in range(0, items, SEED_BATCH):
        with transaction.atomic():
            batch = Item.objects.bulk_create(
                Item(
                    project=project,
                    external_id=f"bench-{n}",
                    prompt=f"Question {n}",
                    response="A response.",
                    source=rng.choice(["model-a", "model-b", "model-c", ""]),
                    is_gold=n % 50 == 0,
                    reference_labels=labels() if n % 50 == 0 else None,
                )
                for n in range(start, min(items, start + SEED_BATCH))
            )
            prelabels = {}
            for position, item in enumerate(batch, start=start):
                if position % 10:
                    prelabels[item.pk] = labels()
            Prelabel.objects.bulk_create(
                Prelabel(item_id=pk, labels=value, model="bench", prompt_version="1")
                for pk, value in prelabels.items()
            )
            rows = []
            for item in batch:
                truth = prelabels.get(item.pk) or item.reference_labels
                for person in rng.sample(people, overlap):
                    shown = item.pk in prelabels and rng.random() < 0.6
                    rows.append(
                        Annotation(
                            item=item,
                            annotator=person,
                            labels=labels(truth),
                            saw_prelabel=shown,
                            seconds=round(rng.uniform(4, 90), 1),
                            excluded=person is people[-1],
                        )
                    )
            Annotation.objects.bulk_create(rows)
        print(f"\rseeded {min(items, start + SEED_BATCH):,} items", end="", file=sys.stderr)
    print(file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-seed", action="store_true", help="Reuse the seeded project.")
    parser.add_argument("--profile", action="store_true", help="cProfile one recompute.")
    parser.add_argument("--out", help="Write the figures as JSON to this file.")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{DEFAULT_SQLITE}"

    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from annotation.models import Annotation, Project
    from annotation.review import review_queue
    from annotation.selectors import project_dashboard

    if not args.skip_seed:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        seed(args.items, args.workers, args.overlap)
        print(f"seeding took {time.perf_counter() - started:.1f} s", file=sys.stderr)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # what autovacuum would have done by the next poll
    project = Project.objects.select_related("scheme").get(slug=BENCH_PROJECT)
    n_items = project.items.count()
    n_annotations = Annotation.objects.filter(item__project=project).count()
    baseline = peak_rss_mb()
    print(f"database: {connection.vendor}")
    print(f"items: {n_items:,}  annotations: {n_annotations:,}")

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        project_dashboard(project=project)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

    figures = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        figures = project_dashboard(project=project)
        print(f"project_dashboard: {time.perf_counter() - started:.2f} s")
    for _ in range(args.repeat):
        cache.clear()  # the review queue's first load: nothing cached
        started = time.perf_counter()
        queue = review_queue(project=project)
        print(
            f"review_queue (first load): {time.perf_counter() - started:.2f} s, "
            f"{len(queue):,} items"
        )
    print(f"peak RSS: {baseline:.0f} MB before, {peak_rss_mb():.0f} MB after")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as sink:
            json.dump({"dashboard": figures, "review": queue}, sink, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
