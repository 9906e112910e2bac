"""Time the annotation export (contracts.md JSONL) and its peak memory on a large project.

    python bench/bench_annotation_export.py [--items 300000] [--overlap 3] [--extra-every 3]
        [--chunk-size 2000] [--skip-seed] [--out FILE]

The default seed is 300,000 items with 1,000,000 annotations: three annotators on every item
and a fourth on every third item (``--extra-every 0`` leaves the fourth out).

With no DATABASE_URL it uses a throwaway SQLite file in the temporary folder; with one (e.g.
``postgres://postgres@127.0.0.1:5432/bench``) it uses that database and leaves the bench
project there. The export is written to /dev/null, or to ``--out`` (to compare two versions).
Peak memory is the process's peak resident set size; for a figure free of the seeding, seed
once, then run again with ``--skip-seed``.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")

BENCH_PROJECT = "bench-export"
SEED_BATCH = 5000
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "valuelab-bench-export.sqlite3"


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed(items: int, overlap: int, extra_every: int) -> None:
    """Create the bench project with ``items`` items, each labelled by ``overlap`` annotators.

    One more annotator labels every ``extra_every``-th item (none when it is 0).
    """
    from django.db import transaction

    from annotation.models import Annotation, Item, Project
    from annotation.services import project_create
    from core.models import User, ValueScheme

    Project.objects.filter(slug=BENCH_PROJECT).delete()
    scheme = ValueScheme.objects.get(key="schwartz10")
    keys = scheme.dimension_keys()
    project = project_create(
        name="Export bench", slug=BENCH_PROJECT, scheme=scheme, created_by=None, overlap=overlap
    )
    annotators = [
        User.objects.get_or_create(username=f"bench-annotator-{n}")[0] for n in range(overlap + 1)
    ]
    rng = random.Random(7)
    text = "A response of moderate length, about as long as a short paragraph. " * 4
    for start in range(0, items, SEED_BATCH):
        with transaction.atomic():
            batch = Item.objects.bulk_create(
                Item(
                    project=project,
                    external_id=f"bench-{n}",
                    prompt=f"Question {n}: what should I do about this?",
                    response=text,
                    source=rng.choice(["model-a", "model-b", "model-c"]),
                    reference_labels={key: rng.choice((-1, 0, 0, 0, 1)) for key in keys},
                )
                for n in range(start, min(items, start + SEED_BATCH))
            )
            Annotation.objects.bulk_create(
                Annotation(
                    item=item,
                    annotator=annotator,
                    labels={key: rng.choice((-1, 0, 0, 0, 1)) for key in keys},
                    saw_prelabel=rng.random() < 0.5,
                    seconds=rng.uniform(5, 60),
                )
                for position, item in enumerate(batch, start=start)
                for annotator in annotators[
                    : overlap + (extra_every > 0 and position % extra_every == 0)
                ]
            )
        print(f"\rseeded {min(items, start + SEED_BATCH):,} items", end="", file=sys.stderr)
    print(file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--extra-every", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--skip-seed", action="store_true", help="Reuse the seeded project.")
    parser.add_argument("--out", default=os.devnull, help="Where to write the export.")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{DEFAULT_SQLITE}"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from annotation.models import Annotation, Project
    from annotation.selectors import project_export_lines

    call_command("migrate", verbosity=0)
    if not args.skip_seed:
        started = time.perf_counter()
        seed(args.items, args.overlap, args.extra_every)
        print(f"seeding took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    project = Project.objects.select_related("scheme").get(slug=BENCH_PROJECT)
    n_annotations = Annotation.objects.filter(item__project=project).count()
    baseline = peak_rss_mb()

    started = time.perf_counter()
    written = 0
    lines = 0
    with open(args.out, "w", encoding="utf-8") as sink:
        for line in project_export_lines(project=project, chunk_size=args.chunk_size):
            sink.write(line)
            written += len(line)
            lines += 1
    seconds = time.perf_counter() - started

    print(f"database: {connection.vendor}")
    print(f"items exported: {lines:,}  annotations: {n_annotations:,}")
    print(f"export: {seconds:.1f} s ({lines / seconds:,.0f} items/s), {written / 1e6:.0f} MB")
    print(f"peak RSS: {baseline:.0f} MB before the export, {peak_rss_mb():.0f} MB after")


if __name__ == "__main__":
    main()
