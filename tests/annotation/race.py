"""Race scenarios for the assignment tests: many threads, each with its own connection.

Each scenario builds its own project and workers, runs, and returns plain facts for the test to
assert. On PostgreSQL the tests call them in-process; SQLite's test database lives in shared
memory, which has table locks instead of SQLite's real file locking, so there the tests run this
module as a script against a fresh file database configured as deployed (WAL, IMMEDIATE).
"""

import json
import os
import sys
import threading
from collections import Counter


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


def _project(tag: str, n_items: int, overlap: int):
    from annotation.assignment import slots_ensure
    from tests.annotation.factories import ItemFactory, ProjectFactory

    project = ProjectFactory(overlap=overlap, blind_share=0, gold_rate=0, slug=f"race-{tag}")
    for _ in range(n_items):
        ItemFactory(project=project)
    slots_ensure(project=project)
    return project


def _workers(tag: str, n: int):
    from tests.factories import UserFactory

    return [UserFactory(username=f"{tag}-worker{i}") for i in range(n)]


def _errors(results) -> list[str]:
    return [repr(r) for r in results if isinstance(r, Exception)]


def scenario_crowd(n_items: int = 6, overlap: int = 3, n_workers: int = 12) -> dict:
    """Many workers label until done; return per-item counts and whether anyone was told done
    while slots were still open."""
    from annotation.assignment import item_next_for_worker
    from annotation.models import Annotation, Slot
    from annotation.services import annotation_submit
    from tests.annotation.factories import labels

    project = _project("crowd", n_items, overlap)
    crowd = _workers("crowd", n_workers)

    def work(i):
        answers = Counter()
        while True:
            answer = item_next_for_worker(project=project, worker=crowd[i])
            if answer.slot is not None:
                annotation_submit(
                    worker=crowd[i], item=answer.slot.item, labels=labels(), seconds=5
                )
                answers["item"] += 1
            elif answer.retry_after is not None:
                answers["retry"] += 1
                threading.Event().wait(0.005)
            else:
                # Done is final: no slot is open on an item this worker has not labelled.
                open_slots = (
                    Slot.objects.filter(project=project)
                    .exclude(state="done")
                    .exclude(item__annotations__annotator=crowd[i])
                    .count()
                )
                return {"answers": dict(answers), "open_slots_when_done": open_slots}

    results = race(n_workers, work)
    annotations = Annotation.objects.filter(item__project=project)
    pairs = list(annotations.values_list("item_id", "annotator_id"))
    return {
        "errors": _errors(results),
        "open_slots_when_done": [r["open_slots_when_done"] for r in results if isinstance(r, dict)],
        "per_item": sorted(Counter(item for item, _ in pairs).values()),
        "n_items": n_items,
        "overlap": overlap,
        "pairs": len(pairs),
        "distinct_pairs": len(set(pairs)),
    }


def scenario_tabs(n_tabs: int = 8) -> dict:
    """One worker asks for work from many tabs at once; return what they hold."""
    from annotation.assignment import item_next_for_worker
    from annotation.models import Slot

    project = _project("tabs", 2, 3)
    (alice,) = _workers("tabs", 1)
    results = race(
        n_tabs, lambda i: item_next_for_worker(project=project, worker=alice).slot.item_id
    )
    held = list(Slot.objects.filter(worker=alice).values_list("item_id", flat=True))
    return {
        "errors": _errors(results),
        "held": held,
        "answered": sorted({r for r in results if isinstance(r, int)}),
    }


def scenario_double_submit(n_requests: int = 6) -> dict:
    """One worker's form is submitted many times at once; return what was stored."""
    from annotation.assignment import item_next_for_worker
    from annotation.models import Annotation, Slot
    from annotation.services import annotation_submit
    from tests.annotation.factories import labels

    project = _project("double", 1, 1)
    (alice,) = _workers("double", 1)
    item = item_next_for_worker(project=project, worker=alice).slot.item
    results = race(
        n_requests,
        lambda i: annotation_submit(worker=alice, item=item, labels=labels(), seconds=5).created,
    )
    return {
        "errors": _errors(results),
        "created": sum(1 for r in results if r is True),
        "stored": Annotation.objects.filter(item=item).count(),
        "slot_states": list(Slot.objects.filter(item=item).values_list("state", flat=True)),
    }


def scenario_quota(
    quota: int = 3, n_tabs: int = 6, n_others: int = 6, n_items: int = 8, overlap: int = 2
) -> dict:
    """A study's participant with ``quota`` items per participant labels from many tabs at once
    (the API's loop, common and general ways), while others label the same items; return how
    many each labelled and the labels per item."""
    from annotation.assignment import worker_status_for
    from annotation.loop import next_for_worker, submit_for_worker
    from annotation.models import Annotation, WorkerStatus
    from core.errors import ValueLabError
    from core.models import Participation
    from core.services import study_create
    from tests.annotation.factories import labels

    project = _project("quota", n_items, overlap)
    study = study_create(
        created_by=None,
        slug="race-quota",
        title="Race quota",
        completion_code="RQ",
        tasks=[
            {
                "kind": "annotation.label",
                "title": "Label",
                "config": {"project": project.pk, "items_per_participant": quota},
            }
        ],
    )
    (alice,) = _workers("quota", 1)
    others = _workers("others", n_others)
    Participation.objects.create(study=study, user=alice)
    worker_status_for(project=project, worker=alice)  # first contact: their quota is fixed

    def work(i):
        worker = alice if i < n_tabs else others[i - n_tabs]
        labelled = 0
        for _ in range(200):
            answer = next_for_worker(project_id=project.pk, worker=worker)
            if answer.item is not None:
                try:
                    result = submit_for_worker(
                        item_id=answer.item["id"], worker=worker, labels=labels(), seconds=5
                    )
                    labelled += int(result.created)
                except ValueLabError:  # another tab submitted it first: ask again
                    continue
            elif answer.retry_after is not None:
                threading.Event().wait(0.005)
            else:
                return labelled
        return labelled

    results = race(n_tabs + n_others, work)
    annotations = Annotation.objects.filter(item__project=project)
    return {
        "errors": _errors(results),
        "quota": quota,
        "overlap": overlap,
        "n_items": n_items,
        "alice_labelled": annotations.filter(annotator=alice).count(),
        "alice_n_done": WorkerStatus.objects.get(project=project, worker=alice).n_done,
        "per_item": sorted(
            Counter(annotations.values_list("item_id", flat=True)).get(pk, 0)
            for pk in project.items.values_list("pk", flat=True)
        ),
    }


SCENARIOS = {
    "crowd": scenario_crowd,
    "tabs": scenario_tabs,
    "double_submit": scenario_double_submit,
    "quota": scenario_quota,
}


def main() -> None:
    """Migrate the database DATABASE_URL names, run every scenario, print the facts as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    json.dump({name: run() for name, run in SCENARIOS.items()}, sys.stdout)


if __name__ == "__main__":
    main()
