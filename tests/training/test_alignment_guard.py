"""BaseAlign cannot be won by saying nothing; the report says how sure a change is."""

import pytest

from training import alignment
from training.schemes import SCHWARTZ10

FULCRA_PRESET = {key: 0.0 for key in SCHWARTZ10} | {
    key: 1.0 for key in ("security", "conformity", "benevolence", "universalism", "achievement")
}


class KeywordEvaluator:
    """A stand-in for a trained evaluator: a response upholds a value when it names a cue word,
    violates it when it names the opposite, and is unrelated to every value otherwise."""

    dimensions = SCHWARTZ10
    card = {"base_model": "keywords"}
    CUES = {
        "safe": ("security", 0.9),
        "help": ("benevolence", 0.8),
        "rules": ("conformity", 0.7),
        "fair": ("universalism", 0.8),
        "win": ("achievement", 0.6),
        "boss": ("power", 0.9),
        "danger": ("security", -0.9),
    }

    def score(self, pairs):
        rows = []
        for _, response in pairs:
            expected = dict.fromkeys(SCHWARTZ10, 0.05)
            for word in response.lower().split():
                if word.strip(".,!") in self.CUES:
                    key, value = self.CUES[word.strip(".,!")]
                    expected[key] = value
            labels = {k: (1 if v > 0.5 else -1 if v < -0.5 else 0) for k, v in expected.items()}
            rows.append({"expected": expected, "labels": labels})
        return rows


PROMPTS = ["How do I get home at night?"] * 5
REAL = "Take the lit road, stay safe, follow the rules and ask a friend to help you get home."
TOUCHY = "Walk with the boss, it is safe, follow the rules, help them and be fair, you will win."
EVASIVE = "I am not able to say anything about that question, sorry about this."
LOOP = "home home home home home home home home home home home home home home home home"


def test_saying_nothing_scores_no_better_than_the_all_unrelated_vector():
    reward = alignment.BaseAlignReward(KeywordEvaluator(), FULCRA_PRESET)
    completions = ["", "Sorry.", EVASIVE, LOOP, REAL]

    empty, short, evasive, loop, real = reward(PROMPTS, completions)

    floor = alignment.neutral_distance(reward.target) + reward.margin
    assert reward.neutral == pytest.approx(5**0.5)  # five values at 1, the rest 0
    assert empty <= -floor and short <= -floor and evasive <= -floor and loop <= -floor
    assert real > -floor  # an answer that beats saying nothing keeps its own, higher reward


def test_without_the_guard_an_evasive_answer_beats_a_real_one():
    """Why the guard exists: an answer that touches one value the wrong way (power, target 0)
    is further from the target than the all-unrelated vector under the plain distance."""
    plain = alignment.BaseAlignReward(KeywordEvaluator(), FULCRA_PRESET, guard="none")
    guarded = alignment.BaseAlignReward(KeywordEvaluator(), FULCRA_PRESET)
    completions = [EVASIVE, "Ask the boss about it."]

    plain_evasive, plain_touchy = plain(PROMPTS[:2], completions)
    guarded_evasive, guarded_touchy = guarded(PROMPTS[:2], completions)

    assert plain_evasive > plain_touchy
    assert guarded_evasive < guarded_touchy


def test_the_fulcra_paper_reward_is_masked_and_gives_saying_nothing_its_best_score():
    target = [FULCRA_PRESET[k] for k in SCHWARTZ10]
    unrelated = [0.1] * len(SCHWARTZ10)
    upholds = [0.9 if t else 0.1 for t in target]

    assert alignment.distance(unrelated, target, kind="fulcra") == 0  # every value masked
    assert alignment.distance(upholds, target, kind="fulcra") == pytest.approx(
        5 * (1 - __import__("math").tanh(0.9))
    )
    assert alignment.neutral_distance(target, kind="fulcra") == 5  # unmasked: Σ|t|·|0 − t|
    guarded = alignment.BaseAlignReward(KeywordEvaluator(), FULCRA_PRESET, kind="fulcra")
    evasive, touchy = guarded(PROMPTS[:2], [EVASIVE, TOUCHY])
    assert evasive < touchy


def test_a_neutral_target_is_reached_by_answers_about_nothing():
    neutral = dict.fromkeys(SCHWARTZ10, 0.0)
    reward = alignment.BaseAlignReward(KeywordEvaluator(), neutral)

    evasive, touchy = reward(PROMPTS[:2], [EVASIVE, TOUCHY])

    assert reward.neutral == 0 and evasive > touchy


def test_the_reward_logs_the_share_of_answers_that_say_nothing():
    logged = {}
    reward = alignment.BaseAlignReward(KeywordEvaluator(), FULCRA_PRESET)

    reward(PROMPTS[:4], ["", EVASIVE, REAL, TOUCHY], log_metric=logged.__setitem__)

    assert logged == {"says_nothing_share": 0.5}


def word_overlap(prompts, responses):
    """A stand-in for the encoder's cosine: the share of the prompt's words the answer uses."""
    rows = []
    for prompt, response in zip(prompts, responses, strict=True):
        asked = {w.strip("?.,!") for w in prompt.lower().split()}
        answered = {w.strip("?.,!") for w in response.lower().split()}
        rows.append(len(asked & answered) / len(asked))
    return rows


QUESTIONS = ["How do I get home at night?", "Should I tell my boss about the mistake?"]
ANSWERS = [REAL, "Tell your boss about the mistake, it is fair and the rules ask for it."]
STOCK = "I am happy to help, stay safe, be fair, follow the rules and you will win!"


def test_the_engaged_guard_scores_a_stock_reply_that_ignores_the_prompt_as_saying_nothing():
    """A reply the evaluator likes, given whatever was asked, beats real answers under the floor
    guard alone (how SmolLM2 collapsed on a country target); the engaged guard floors it."""
    floor_only = alignment.BaseAlignReward(KeywordEvaluator(), FULCRA_PRESET)
    engaged = alignment.BaseAlignReward(
        KeywordEvaluator(), FULCRA_PRESET, guard="engaged", engagement=word_overlap
    )
    engaged.calibrate(word_overlap(QUESTIONS, ANSWERS))  # the reference policy's own answers
    logged = {}

    stock_before, real_before = floor_only(QUESTIONS, [STOCK, ANSWERS[1]])
    stock, real = engaged(QUESTIONS, [STOCK, ANSWERS[1]], log_metric=logged.__setitem__)

    assert stock_before > real_before  # the collapse the floor guard alone invites
    assert stock <= -engaged.floor < real
    assert logged == {"says_nothing_share": 0.0, "ignores_prompt_share": 0.5}
    assert engaged.describe()["min_engagement"] == engaged.min_engagement > 0
    assert "ignores its prompt" in engaged.describe()["why"]


def test_the_engaged_guard_needs_the_reference_policys_answers_first():
    engaged = alignment.BaseAlignReward(
        KeywordEvaluator(), FULCRA_PRESET, guard="engaged", engagement=word_overlap
    )

    with pytest.raises(alignment.AlignmentError, match="not calibrated"):
        engaged(QUESTIONS, ANSWERS)
    with pytest.raises(alignment.AlignmentError, match="reference policy's answers"):
        engaged.calibrate([])
    # The least engagement is the reference answers' 10% quantile: 1 in 10 falls under it.
    assert engaged.calibrate([i / 10 for i in range(11)]) == 0.1


def test_empty_and_looping_answers_are_recognised():
    assert alignment.is_empty("") and alignment.is_empty("  …\n") and not alignment.is_empty("No")
    assert alignment.is_repetitive(LOOP) and alignment.is_repetitive("I can. " * 10)
    assert not alignment.is_repetitive(REAL) and not alignment.is_repetitive("yes yes yes")


def test_the_change_is_claimed_only_when_its_interval_excludes_zero():
    before = [2.0 + 0.01 * i for i in range(60)]
    closer = alignment.paired_bootstrap(before, [b - 0.3 for b in before])
    noise = alignment.paired_bootstrap(
        before, [b + (0.2 if i % 2 else -0.2) for i, b in enumerate(before)]
    )

    assert closer == {"mean": -0.3, "ci": [-0.3, -0.3], "n": 60}
    assert alignment.verdict(closer) == "closer"
    assert noise["ci"][0] < 0 < noise["ci"][1] and noise["n"] == 60
    assert alignment.verdict(noise) == "no clear change"
    assert alignment.verdict({"ci": [0.1, 0.4]}) == "further"


def test_held_out_prompts_are_never_trained_on():
    prompts = [f"question {i}" for i in range(30)] + ["question 0"]

    held_out, train = alignment.split_prompts(prompts, report_prompts=50, seed=13)

    assert len(held_out) == 15 and len(train) == 15  # at most half of the 30 distinct prompts
    assert not set(held_out) & set(train)
    assert alignment.split_prompts(prompts, report_prompts=50, seed=13) == (held_out, train)
    with pytest.raises(alignment.AlignmentError, match="two different prompts"):
        alignment.split_prompts(["same", "same"], report_prompts=50, seed=13)
