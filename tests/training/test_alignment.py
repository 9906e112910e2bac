"""BaseAlign: the reward is minus the distance to the target; one GRPO step trains a policy."""

import json

import pytest

from training import alignment, evaluator
from training.models import ModelArtifact
from training.schemes import SCHWARTZ10

FULCRA_PRESET = {key: 0.0 for key in SCHWARTZ10} | {
    key: 1.0 for key in ("security", "conformity", "benevolence", "universalism", "achievement")
}


def test_distances_are_l2_l1_and_weighted():
    assert alignment.distance([0, 0], [3, 4]) == 5
    assert alignment.distance([0, 0], [3, 4], kind="l1") == 7
    assert alignment.distance([0, 0], [3, 4], kind="weighted", weights=[0, 1]) == 4
    with pytest.raises(alignment.AlignmentError, match="unknown distance"):
        alignment.distance([0], [1], kind="cosine")


@pytest.mark.parametrize(
    "target, message",
    [
        ({"security": 1}, "self_direction, stimulation, .* missing"),
        (FULCRA_PRESET | {"humility": 1}, "humility: not a dimension of the scheme"),
        (FULCRA_PRESET | {"power": 2}, r"power: 2 is outside \[-1, 1\]"),
    ],
)
def test_a_bad_target_is_refused_with_the_reason(target, message):
    with pytest.raises(alignment.AlignmentError, match=message):
        alignment.read_target(target, SCHWARTZ10)


def test_the_reward_uses_the_expected_labels_and_is_highest_at_the_target(tiny_evaluator):
    loaded = evaluator.load(tiny_evaluator)
    prompts = ["Is the door safe?", "Tell me"]
    completions = ["keep it locked and safe", "that was cruel"]
    vectors = alignment.BaseAlignReward(loaded, FULCRA_PRESET).vectors(prompts, completions)
    at_first = dict(zip(SCHWARTZ10, vectors[0], strict=True))

    rewards = alignment.BaseAlignReward(loaded, at_first)(prompts, completions)

    assert rewards[0] == pytest.approx(0.0, abs=1e-6)
    assert rewards[1] < 0
    assert all(-1 <= value <= 1 for value in vectors[1])
    # Expected labels are continuous: two different completions rarely tie exactly.
    assert vectors[0] != vectors[1]


@pytest.mark.slow
def test_align_policy_runs_grpo_steps_and_writes_a_policy_with_its_report(
    db, tiny_evaluator, tiny_policy, tmp_path, capsys
):
    from django.core.management import call_command

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "\n".join(json.dumps({"prompt": f"Question {i}: what now?"}) for i in range(12))
    )
    target = tmp_path / "target.json"
    target.write_text(json.dumps(FULCRA_PRESET))
    out = tmp_path / "policy"

    call_command(
        "align_policy",
        "--evaluator",
        str(tiny_evaluator),
        "--policy",
        str(tiny_policy),
        "--prompts",
        str(prompts),
        "--target",
        str(target),
        "--out",
        str(out),
        "--steps",
        "2",
        "--num-generations",
        "2",
        "--max-completion-length",
        "8",
        "--report-prompts",
        "2",
    )

    card = json.loads((out / "policy.json").read_text())
    report = card["report"]
    assert len(report["rewards"]) == 2 and all(r <= 0 for r in report["rewards"])
    assert report["before"]["mean_distance"] >= 0 and report["after"]["mean_distance"] >= 0
    assert card["target"] == FULCRA_PRESET
    assert (out / "config.json").is_file()
    assert "mean distance to the target" in capsys.readouterr().out
    registered = ModelArtifact.objects.get()
    assert registered.kind == "policy" and registered.path == str(out.resolve())
