"""BaseAlign: the reward is minus the distance to the target; one GRPO step trains a policy."""

import json
from dataclasses import asdict

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

    # The plain distance (the guard against saying nothing has its own tests).
    rewards = alignment.BaseAlignReward(loaded, at_first, guard="none")(prompts, completions)

    assert rewards[0] == pytest.approx(0.0, abs=1e-6)
    assert rewards[1] < 0
    assert all(-1 <= value <= 1 for value in vectors[1])
    # Expected labels are continuous: two different completions rarely tie exactly.
    assert vectors[0] != vectors[1]


def test_a_stock_reply_to_every_prompt_shows_as_answers_alike_that_ignore_their_prompts(
    tiny_evaluator,
):
    loaded = evaluator.load(tiny_evaluator)
    prompts = ["Is the door safe at night?", "Should I tell my boss?", "Can I borrow the car?"]
    stock = ["I'm happy to engage in a friendly conversation about anything you like."] * 3

    echoed = alignment.answer_closeness(loaded, prompts, prompts)
    collapsed = alignment.answer_closeness(loaded, prompts, stock)

    assert echoed[0] == pytest.approx(1.0, abs=1e-3)  # an answer that is its prompt engages it
    assert collapsed[1] == pytest.approx(1.0, abs=1e-3)  # the same reply everywhere
    assert collapsed[0] < echoed[0] and echoed[1] < collapsed[1]


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
    assert card["prompt_format"] == "text"  # a base model: no chat template
    assert card["reward"]["guard"] == "engaged" and "says nothing" in card["reward"]["why"]
    # Calibrated on the reference policy's own answers before training.
    assert -1 <= card["reward"]["min_engagement"] <= 1
    assert "ignores its prompt" in card["reward"]["why"]
    for side in ("before", "after"):
        assert report[side]["n"] == 2 and len(report[side]["samples"]) == 2
        assert report[side]["neutral_distance"] == pytest.approx(5**0.5, abs=1e-4)
        assert 0 <= report[side]["empty_share"] <= 1
        assert -1 <= report[side]["engagement"] <= 1 and -1 <= report[side]["sameness"] <= 1
    change = report["change"]
    assert change["n"] == 2 and change["ci"][0] <= change["mean"] <= change["ci"][1]
    assert change["mean"] == pytest.approx(
        report["after"]["mean_distance"] - report["before"]["mean_distance"], abs=1e-3
    )
    assert (out / "config.json").is_file()
    assert "mean distance to the target" in capsys.readouterr().out
    registered = ModelArtifact.objects.get()
    assert registered.kind == "policy" and registered.path == str(out.resolve())


def _one_step(policy) -> alignment.AlignConfig:
    """One GRPO step of two tiny completions (4 tokens each), two held-out prompts."""
    steps = {"steps": 1, "num_generations": 2, "prompts_per_step": 1}
    return alignment.AlignConfig(str(policy), **steps, max_completion_length=4, report_prompts=2)


def _spy_on_generate(monkeypatch, model):
    seen = []
    original = model.generate

    def generate(**inputs):
        seen.append(inputs["input_ids"])
        return original(**inputs)

    monkeypatch.setattr(model, "generate", generate)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("chat", [True, False])
def test_the_report_asks_a_chat_policy_in_its_template_and_a_base_model_in_raw_text(
    monkeypatch, tiny_chat_policy, tiny_policy, chat
):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tiny_chat_policy if chat else tiny_policy
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    seen = _spy_on_generate(monkeypatch, model)
    fmt = alignment.prompt_format(tokenizer)

    answers = alignment.generate_responses(
        model, tokenizer, ["Is the door safe?", "Tell me"], fmt=fmt, max_new_tokens=4
    )

    asked = [tokenizer.decode(row, skip_special_tokens=False) for batch in seen for row in batch]
    assert len(answers) == 2 and all(isinstance(text, str) for text, _ in answers)
    if chat:
        assert fmt == "chat"
        assert all(text.endswith("<|im_start|>assistant\n") for text in asked)
        assert any("<|im_start|>user\nIs the door safe?<|im_end|>" in text for text in asked)
    else:
        assert fmt == "text"
        assert not any("<|im_start|>" in text for text in asked)
        assert any(text.endswith("Is the door safe?") for text in asked)


@pytest.mark.slow
def test_grpo_trains_a_chat_policy_on_its_chat_template_and_the_card_says_so(
    monkeypatch, tiny_evaluator, tiny_chat_policy, tmp_path
):
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase

    calls = []
    original = PreTrainedTokenizerBase.apply_chat_template

    def apply_chat_template(self, conversation, *args, **kwargs):
        calls.append((kwargs.get("tokenize", True), kwargs.get("add_generation_prompt")))
        return original(self, conversation, *args, **kwargs)

    monkeypatch.setattr(PreTrainedTokenizerBase, "apply_chat_template", apply_chat_template)
    rewarded = []
    vectors = alignment.BaseAlignReward.vectors

    def spy_vectors(self, prompts, completions):
        rewarded.extend(prompts)
        return vectors(self, prompts, completions)

    monkeypatch.setattr(alignment.BaseAlignReward, "vectors", spy_vectors)
    prompts = [f"Question {i}: is it safe to go out?" for i in range(8)]

    alignment.align(
        evaluator=evaluator.load(tiny_evaluator),
        target=FULCRA_PRESET,
        prompts=prompts,
        out=tmp_path / "policy",
        config=_one_step(tiny_chat_policy),
    )

    card = json.loads((tmp_path / "policy" / "policy.json").read_text())
    assert card["prompt_format"] == "chat"
    # TRL renders the conversational prompts with the generation prompt (tokenize=True) in
    # GRPO; the report renders them itself (tokenize=False), before and after.
    assert (True, True) in calls and calls.count((False, True)) == 4
    training = [p for p in rewarded if not isinstance(p, str)]
    assert training and all(p == [{"role": "user", "content": p[0]["content"]}] for p in training)
    assert card["report"]["before"]["prompt_format"] == "chat"


@pytest.mark.slow
def test_a_sweep_reuses_the_before_report_only_for_the_same_held_out_prompts(
    monkeypatch, tiny_evaluator, tiny_chat_policy, tmp_path
):
    prompts = [f"Question {i}: is it safe to go out?" for i in range(8)]
    loaded = evaluator.load(tiny_evaluator)
    config = _one_step(tiny_chat_policy)

    def run(name, config, before=None):
        return alignment.align(
            evaluator=loaded,
            target=FULCRA_PRESET,
            prompts=prompts,
            out=tmp_path / name,
            config=config,
            before=before,
        )

    first = run("a", config)
    generated = []
    original = alignment.alignment_report
    monkeypatch.setattr(
        alignment.grpo,
        "alignment_report",
        lambda *args, **kwargs: generated.append(1) or original(*args, **kwargs),
    )

    again = run("b", config, first.before)
    assert again.before == first.before and len(generated) == 1  # only 'after' was generated
    assert again.change["n"] == 2

    moved = run("c", alignment.AlignConfig(**(asdict(config) | {"seed": 14})), first.before)
    held_out, _ = alignment.split_prompts(prompts, report_prompts=2, seed=14)
    assert [s["prompt"] for s in moved.before["samples"]] == held_out
    assert len(generated) == 3  # other held-out prompts: 'before' measured afresh
