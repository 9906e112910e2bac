"""The LLM budget under parallel calls: 24 interview calls at once from one participant.

On PostgreSQL the test runs the scenario in-process; SQLite's shared-memory test database has
table locks rather than real file locking, so there the test runs this module as a script
against a fresh file database configured as deployed (WAL, IMMEDIATE), as the annotation race
tests do.
"""

import json
import os
import sys
import threading


def scenario_parallel_budget(n_calls: int = 24, budget: int = 5, tag: str = "") -> dict:
    """Return how many of ``n_calls`` parallel calls were answered with a budget of ``budget``."""
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection

    from core import llm
    from core.models import LLMCall, User
    from tests.llm_double import OpenAIDouble

    cache.clear()
    participant = User.objects.create(username=f"budget-race{tag}", role=User.Role.PARTICIPANT)
    answered, refused, errors = [], [], []
    barrier = threading.Barrier(n_calls)
    with OpenAIDouble() as double:
        double.latency = 0.2
        old = (settings.OPENAI_BASE_URL, settings.VALUELAB_LLM_BUDGET)
        old_concurrency = getattr(settings, "VALUELAB_LLM_CONCURRENCY", 8)
        settings.OPENAI_BASE_URL, settings.VALUELAB_LLM_BUDGET = double.url, budget
        settings.VALUELAB_LLM_CONCURRENCY = n_calls

        def call():
            try:
                barrier.wait()
                llm.chat([{"role": "user", "content": "hi"}], purpose="race", user=participant)
                answered.append(1)
            except llm.LLMBudgetExceeded:
                refused.append(1)
            except Exception as error:  # noqa: BLE001 - reported to the test
                errors.append(repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=call) for _ in range(n_calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        settings.OPENAI_BASE_URL, settings.VALUELAB_LLM_BUDGET = old
        settings.VALUELAB_LLM_CONCURRENCY = old_concurrency
        sent = len(double.chat_requests)
    rows = LLMCall.objects.filter(user=participant)
    return {
        "answered": len(answered),
        "refused": len(refused),
        "errors": errors,
        "sent": sent,
        "ok_rows": rows.filter(outcome="ok").count(),
        "pending_rows": rows.filter(outcome="pending").count(),
    }


def main() -> None:
    """Migrate the database DATABASE_URL names, run the scenario, print the facts as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    json.dump(scenario_parallel_budget(), sys.stdout)


if __name__ == "__main__":
    main()
