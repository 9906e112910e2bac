"""The participant's LLM budget: reserved before the call, given back when the call fails."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from core import llm
from core.models import LLMCall
from tests.core import budget_race

ROOT = Path(__file__).resolve().parents[2]
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.mark.django_db
def test_failed_calls_give_their_slot_back(llm_double, settings, alice):
    settings.VALUELAB_LLM_BUDGET = 2
    llm_double.fail(status=503, times=2)  # an outage: both attempts fail
    llm_double.fail(status=400, message="bad parameter")  # a refusal
    llm_double.empty_stream().empty_stream()  # an empty reply

    with pytest.raises(llm.LLMUnavailable):
        llm.chat(HELLO, purpose="tests.chat", user=alice)
    with pytest.raises(llm.LLMRefused):
        llm.chat(HELLO, purpose="tests.chat", user=alice)
    with pytest.raises(llm.LLMEmptyReply):
        "".join(llm.chat_stream(HELLO, purpose="tests.stream", user=alice))

    assert llm.budget_remaining(alice) == 2
    llm.chat(HELLO, purpose="tests.chat", user=alice)
    llm.chat(HELLO, purpose="tests.chat", user=alice)
    with pytest.raises(llm.LLMBudgetExceeded):
        llm.chat(HELLO, purpose="tests.chat", user=alice)


@pytest.mark.django_db
def test_a_call_in_flight_holds_its_slot(llm_double, settings, alice):
    settings.VALUELAB_LLM_BUDGET = 1
    stream = llm.chat_stream(HELLO, purpose="tests.stream", user=alice)

    assert llm.budget_remaining(alice) == 0
    assert LLMCall.objects.get().outcome == "pending"
    with pytest.raises(llm.LLMBudgetExceeded):
        llm.chat(HELLO, purpose="tests.chat", user=alice)
    "".join(stream)
    assert list(LLMCall.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "ok",
        "over_budget",
    ]


@pytest.fixture
def sqlite_budget_race(tmp_path) -> dict:
    path = tmp_path / "budget.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "VALUELAB_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.core.budget_race"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_24_parallel_calls_on_a_budget_of_5_get_exactly_5_replies(request):
    if connection.vendor == "sqlite":
        facts = request.getfixturevalue("sqlite_budget_race")
    else:
        facts = budget_race.scenario_parallel_budget(tag="-pg")

    assert facts["errors"] == []
    assert (facts["answered"], facts["refused"]) == (5, 19)
    assert facts["sent"] == 5  # refused calls never reach the LLM
    assert (facts["ok_rows"], facts["pending_rows"]) == (5, 0)
