"""Time every researcher page of the moral graph (and the training registry) on the imported
MGE study, through the full Django request path.

    python bench/bench_researcher_pages.py [--database-url sqlite:////tmp/mge.sqlite3]
        [--repeat 10]

Builds a fresh SQLite database (or uses the one given, importing the study only if it is not
there), imports ../shared/data/mge with ``import_mge``, computes the snapshots once (timed), and
prints the median and worst time of each page. Target (issue 14): every page under 300 ms.
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
MGE = ROOT.parent / "shared" / "data" / "mge"


def timed(client, url: str, repeat: int) -> tuple[float, float, int]:
    """Return the median and worst seconds of ``repeat`` GETs of ``url`` and the last status."""
    times, status = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        times.append(time.perf_counter() - start)
        status = response.status_code
    return statistics.median(times), max(times), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if not (MGE / "edge.json").is_file():
        sys.exit(f"the MGE study's data is not at {MGE}")
    workdir = tempfile.mkdtemp(prefix="pages-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count
    from django.test import Client

    from core.models import User
    from elicitation.models import Deliberation, MoralContext
    from moralgraph.importing import mge_import
    from moralgraph.models import Vote
    from moralgraph.snapshots import snapshots_recompute

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    deliberation = Deliberation.objects.filter(name="mge").first()
    if deliberation is None:
        start = time.perf_counter()
        mge_import(directory=MGE)
        print(f"imported the MGE study in {time.perf_counter() - start:.1f} s")
        deliberation = Deliberation.objects.get(name="mge")
    researcher, _ = User.objects.get_or_create(
        username="bench-rita", defaults={"role": User.Role.RESEARCHER}
    )
    client = Client()
    client.force_login(researcher)
    start = time.perf_counter()
    snapshots_recompute(deliberation=deliberation, force=True)
    print(
        f"snapshots of {MoralContext.objects.filter(deliberation=deliberation).count()} contexts "
        f"(with the voters bootstrap) computed in {time.perf_counter() - start:.2f} s"
    )
    busiest = (
        Vote.objects.filter(deliberation=deliberation)
        .values("context_id", "from_card_id", "to_card_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    api = f"/api/moralgraph/deliberations/mge/contexts/{busiest['context_id']}/"
    pages = {
        "deliberation list /moralgraph/": "/moralgraph/",
        "deliberation page": "/moralgraph/mge/",
        "explorer page": "/moralgraph/mge/explorer/",
        "explorer page, one context": f"/moralgraph/mge/explorer/?context={busiest['context_id']}",
        "explorer page, Democrats": (
            f"/moralgraph/mge/explorer/?context={busiest['context_id']}"
            "&group=attr:US+political+affiliation%3DDemocrat"
        ),
        "explorer JSON, Republicans only": api
        + "explorer/?group=attr:US+political+affiliation%3DRepublican",
        "explorer JSON, age 60+ only": api + "explorer/?group=attr:Age+group%3D60%2B",
        "explorer JSON (busiest context)": api + "explorer/",
        "a value's details": api + f"values/{busiest['to_card_id']}/",
        "a pair's details": api + f"pairs/{busiest['from_card_id']}/{busiest['to_card_id']}/",
        "graph.json": "/api/moralgraph/deliberations/mge/graph/",
        "GraphML": "/api/moralgraph/deliberations/mge/graph/?format=graphml",
        "node-link JSON": "/api/moralgraph/deliberations/mge/graph/?format=node-link",
        "vote page (researcher preview)": "/moralgraph/mge/vote/",
        "my positions page": "/moralgraph/mge/mine/",
        "preferences (JSONL)": "/api/moralgraph/deliberations/mge/preferences/",
        "models registry": "/training/models/",
    }
    for context in MoralContext.objects.filter(deliberation=deliberation).order_by("pk"):
        pages[f"explorer JSON, context {context.pk}"] = (
            f"/api/moralgraph/deliberations/mge/contexts/{context.pk}/explorer/"
        )
    print(f"| page | median | worst of {args.repeat} | status |")
    print("|---|---|---|---|")
    for name, url in pages.items():
        median, worst, status = timed(client, url, args.repeat)
        flag = "" if median < 0.3 else " (over 300 ms)"
        print(f"| {name} | {median * 1000:.0f} ms{flag} | {worst * 1000:.0f} ms | {status} |")


if __name__ == "__main__":
    main()
