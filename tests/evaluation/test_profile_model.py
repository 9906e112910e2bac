"""The profile_model command: two scripted subjects, a tiny evaluator, the contract's JSON."""

import json

import pytest
from django.core.management import CommandError, call_command

from evaluation.models import Response, Run
from tests.evaluation.conftest import CAREFUL, RECKLESS, script
from training.schemes import SCHWARTZ10

pytestmark = pytest.mark.django_db


def profile_of(double, prompts_file, evaluator_dir, out, *extra) -> dict:
    call_command(
        "profile_model",
        "--endpoint",
        double.url,
        "--model",
        "double-chat",
        "--prompts",
        str(prompts_file),
        "--evaluator",
        str(evaluator_dir),
        "--out",
        str(out),
        *extra,
    )
    return json.loads(out.read_text())


def test_two_subjects_get_different_profiles_in_the_contract_shape(
    careful, reckless, prompts_file, evaluator_dir, tmp_path
):
    script(careful, CAREFUL, 12)
    script(reckless, RECKLESS, 12)
    target = tmp_path / "target.json"
    target.write_text(json.dumps({key: 1 if key == "security" else 0 for key in SCHWARTZ10}))

    first = profile_of(
        careful, prompts_file, evaluator_dir, tmp_path / "a.json", "--target", str(target)
    )
    second = profile_of(
        reckless, prompts_file, evaluator_dir, tmp_path / "b.json", "--target", str(target)
    )

    assert set(first) == {"subject", "evaluator", "n", "values", "alignment"}
    assert first["n"] == second["n"] == 12
    assert list(first["values"]) == SCHWARTZ10
    assert set(first["values"]["security"]) == {"mean", "ci", "upholds", "violates"}
    careful_security, reckless_security = first["values"]["security"], second["values"]["security"]
    # The careful subject upholds security, the reckless one violates it, beyond the intervals.
    assert careful_security["ci"][0] > reckless_security["ci"][1]
    # A tiny evaluator may call few answers clearly upholding: compare the net share.
    net = {
        k: v["upholds"] - v["violates"]
        for k, v in (("a", careful_security), ("b", reckless_security))
    }
    assert net["a"] > net["b"]
    assert reckless_security["violates"] > careful_security["violates"]
    assert set(first["alignment"]) == {"distance", "distance_ci", "weighted", "weighted_ci", "n"}
    low, high = first["alignment"]["distance_ci"]
    assert low <= first["alignment"]["distance"] <= high
    assert first["alignment"]["weighted"] > second["alignment"]["weighted"]
    assert first["alignment"]["distance"] < second["alignment"]["distance"]


def test_without_target_alignment_is_null_and_a_rerun_asks_the_model_nothing(
    careful, prompts_file, evaluator_dir, tmp_path
):
    script(careful, CAREFUL, 12)
    first = profile_of(careful, prompts_file, evaluator_dir, tmp_path / "a.json")
    asked = len(careful.chat_requests)

    again = profile_of(careful, prompts_file, evaluator_dir, tmp_path / "b.json")

    assert first["alignment"] is None
    assert asked == 12
    assert len(careful.chat_requests) == asked  # every answer came from the cache
    assert again["values"] == first["values"]


def test_a_target_of_another_scheme_is_refused_naming_both(
    careful, prompts_file, evaluator_dir, tmp_path
):
    target = tmp_path / "target.json"
    target.write_text(json.dumps({"scheme": "mft5", "target": {"care": 1}}))
    with pytest.raises(CommandError, match="'mft5'.*'schwartz10'"):
        profile_of(careful, prompts_file, evaluator_dir, tmp_path / "a.json", "--target", target)
    assert careful.chat_requests == []


def test_a_bad_prompt_line_is_refused_by_line_or_skipped(careful, evaluator_dir, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "Should I lock the door?"}\n{"text": "oops"}\n')
    with pytest.raises(CommandError, match="line 2: prompt: missing or empty"):
        profile_of(careful, prompts, evaluator_dir, tmp_path / "a.json")
    assert not (tmp_path / "a.json").exists()

    script(careful, CAREFUL, 1)
    result = profile_of(careful, prompts, evaluator_dir, tmp_path / "a.json", "--skip-invalid")
    assert result["n"] == 1


def test_an_endpoint_that_goes_down_pauses_the_run_and_a_rerun_resumes(
    careful, prompts_file, evaluator_dir, tmp_path, settings
):
    settings.VALUELAB_LLM_CONCURRENCY = 1  # one request at a time: the outage hits at prompt 5
    script(careful, CAREFUL, 4)
    careful.fail(status=503, times=10)

    with pytest.raises(CommandError, match="Paused: .*resume"):
        profile_of(careful, prompts_file, evaluator_dir, tmp_path / "a.json")

    run = Run.objects.get()
    assert run.status == Run.Status.PAUSED
    assert Response.objects.filter(status=Response.Status.OK).count() == 4
    assert not Response.objects.filter(status=Response.Status.FAILED).exists()
    careful.reset()
    script(careful, CAREFUL, 8)

    result = profile_of(careful, prompts_file, evaluator_dir, tmp_path / "a.json")

    assert result["n"] == 12
    assert len(careful.chat_requests) == 8  # only the prompts not answered before


def test_a_prompt_the_model_answers_with_nothing_is_marked_failed_not_lost(
    careful, prompts_file, evaluator_dir, tmp_path, settings
):
    settings.VALUELAB_LLM_CONCURRENCY = 1
    careful.empty_stream()
    script(careful, CAREFUL, 11)
    result = profile_of(careful, prompts_file, evaluator_dir, tmp_path / "a.json")
    assert result["n"] == 11
    failed = Response.objects.get(status=Response.Status.FAILED)
    assert failed.error and failed.attempts == 1
    # The next run tries it again (and only it).
    script(careful, CAREFUL, 1)
    careful.requests.clear()
    result = profile_of(careful, prompts_file, evaluator_dir, tmp_path / "b.json")
    assert result["n"] == 12
    assert len(careful.chat_requests) == 1


def test_subject_arguments_are_checked(prompts_file, evaluator_dir, tmp_path):
    with pytest.raises(CommandError, match="--endpoint URL --model NAME, or --policy DIR"):
        call_command(
            "profile_model",
            "--prompts",
            str(prompts_file),
            "--evaluator",
            str(evaluator_dir),
            "--out",
            str(tmp_path / "x.json"),
        )
    with pytest.raises(CommandError, match="evaluator"):
        call_command(
            "profile_model",
            "--policy",
            str(tmp_path),
            "--prompts",
            str(prompts_file),
            "--evaluator",
            str(tmp_path),
            "--out",
            str(tmp_path / "x.json"),
        )


def test_the_cost_cap_pauses_the_run_and_a_higher_cap_finishes_it(
    careful, prompts_file, evaluator_dir, tmp_path, settings
):
    settings.VALUELAB_LLM_CONCURRENCY = 1
    script(careful, CAREFUL, 12)
    with pytest.raises(CommandError, match="cap of 5 LLM calls"):
        profile_of(careful, prompts_file, evaluator_dir, tmp_path / "a.json", "--max-calls", "5")
    answered = Response.objects.filter(status=Response.Status.OK).count()
    assert 5 <= answered <= 6  # the request in flight when the cap was reached is kept too
    assert Run.objects.get().status == Run.Status.PAUSED

    result = profile_of(
        careful, prompts_file, evaluator_dir, tmp_path / "a.json", "--max-calls", "100"
    )
    assert result["n"] == 12
    assert len(careful.chat_requests) == 12
