"""DPO pairs from the moral graph: the policy answers guided by the wiser and the less wise card."""

import json

import pytest
from django.core.management import CommandError, call_command

from training import preferences

WISER = {
    "id": 2,
    "title": "Gentle Honesty",
    "description": "Say hard things kindly.",
    "policies": ["MOMENTS when the truth helps", "WORDS that soften"],
    "scenario": None,
}
LESS_WISE = {"id": 1, "title": "Blunt Facts", "description": "", "policies": []}


def test_the_system_prompt_carries_the_card_and_the_context():
    prompt = preferences.card_system_prompt(WISER, "When in distress")

    assert "The situation: When in distress." in prompt
    assert "Answer guided by this value: Gentle Honesty." in prompt
    assert "- WORDS that soften" in prompt


def test_each_pair_asks_the_same_prompt_guided_by_each_card_and_never_shows_the_card():
    pairs = preferences.pairs_from_preferences(
        [
            {
                "context": "When in distress",
                "prompt": "Should I tell her?",
                "wiser": WISER,
                "less_wise": LESS_WISE,
            }
        ]
    )
    asked = []

    def answer(system: str, prompt: str) -> str:
        asked.append((system, prompt))
        return "gently" if "Gentle Honesty" in system else "bluntly"

    rows = preferences.preference_rows(pairs, answer)

    assert rows == [
        {
            "prompt": [{"role": "user", "content": "Should I tell her?"}],
            "chosen": [{"role": "assistant", "content": "gently"}],
            "rejected": [{"role": "assistant", "content": "bluntly"}],
        }
    ]
    assert [prompt for _, prompt in asked] == ["Should I tell her?"] * 2
    assert "Gentle Honesty" not in json.dumps(rows[0]["prompt"])


def test_a_card_without_a_title_is_named_with_its_line():
    with pytest.raises(preferences.PreferenceError, match="line 2: less_wise.title"):
        preferences.pairs_from_preferences(
            [
                {"context": "c", "wiser": WISER, "less_wise": LESS_WISE},
                {"context": "c", "wiser": WISER, "less_wise": {"id": 3}},
            ]
        )


@pytest.fixture
def preferences_file(tmp_path):
    path = tmp_path / "preferences.jsonl"
    lines = [
        {
            "context": "When in distress",
            "context_id": 1,
            "wiser": WISER,
            "less_wise": LESS_WISE,
            "counts": {"wiser": 3, "not_wiser": 0, "unsure": 0},
            "rule": "majority",
        },
        {
            "context": "When seeking clarity",
            "context_id": 2,
            "wiser": LESS_WISE,
            "less_wise": WISER,
            "counts": {"wiser": 2, "not_wiser": 1, "unsure": 0},
            "rule": "majority",
        },
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


@pytest.mark.parametrize("format", ["conversational", "standard"])
def test_export_dpo_writes_a_file_datasets_loads_with_trls_columns(
    db, tiny_policy, preferences_file, tmp_path, format, capsys
):
    from datasets import load_dataset

    out = tmp_path / "dpo.jsonl"

    call_command(
        "export_dpo",
        "--policy",
        str(tiny_policy),
        "--preferences",
        str(preferences_file),
        "--max-new-tokens",
        "6",
        "--format",
        format,
        "-o",
        str(out),
    )

    dataset = load_dataset("json", data_files=str(out), split="train")
    assert dataset.column_names == ["prompt", "chosen", "rejected"]
    assert len(dataset) == 2
    first = dataset[0]
    if format == "conversational":
        assert first["prompt"] == [{"role": "user", "content": "When in distress"}]
        assert first["chosen"][0]["role"] == "assistant"
    else:
        assert first["prompt"] == "When in distress" and isinstance(first["chosen"], str)
    # The second line swaps the cards: its chosen answer is the first line's rejected one.
    meta = json.loads((tmp_path / "dpo.jsonl.meta.json").read_text())
    assert meta["pairs"][1]["wiser_id"] == 1
    # The summary counts every pair left out, identical answers included (none here).
    result = json.loads(capsys.readouterr().out)
    assert result["pairs"] == 2
    assert (
        result["left_out"] == meta["summary"] == {"two_way": 0, "tied": 0, "identical_answers": 0}
    )


def test_export_dpo_from_a_deliberation_uses_the_moral_graph(db, tiny_policy, tmp_path):
    from tests.moralgraph.conftest import tiny_dump, write_dump

    dump = write_dump(tmp_path / "mge", tiny_dump())
    call_command("import_mge", str(dump), "--deliberation", "tiny")
    out = tmp_path / "graph-dpo.jsonl"

    call_command(
        "export_dpo",
        "--policy",
        str(tiny_policy),
        "--deliberation",
        "tiny",
        "--max-new-tokens",
        "4",
        "-o",
        str(out),
    )

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(set(row) == {"prompt", "chosen", "rejected"} for row in rows)
    # The prompts are the questions asked in each preference's context, not the context.
    questions = {case["question"] for case in tiny_dump()["cases.json"]}
    assert {row["prompt"][0]["content"] for row in rows} <= questions


def test_an_unknown_policy_or_deliberation_is_refused_and_nothing_written(
    db, preferences_file, tmp_path
):
    out = tmp_path / "dpo.jsonl"

    with pytest.raises(CommandError, match="no such model folder"):
        call_command(
            "export_dpo",
            "--policy",
            str(tmp_path / "none"),
            "--preferences",
            str(preferences_file),
            "-o",
            str(out),
        )
    with pytest.raises(CommandError, match="no deliberation called 'nope'"):
        call_command("export_dpo", "--policy", "x", "--deliberation", "nope", "-o", str(out))
    assert not out.exists()


def test_a_researcher_exports_dpo_pairs_from_the_page_and_downloads_them(
    rita_client, tiny_policy, tmp_path, settings, eager_jobs, django_capture_on_commit_callbacks
):
    from tests.moralgraph.conftest import tiny_dump, write_dump

    settings.VAR_DIR = tmp_path / "var"
    call_command(
        "import_mge", str(write_dump(tmp_path / "mge", tiny_dump())), "--deliberation", "tiny"
    )
    form = {
        "key": "d1",
        "name": "tiny-dpo",
        "deliberation": "tiny",
        "policy": str(tiny_policy),
        "format": "standard",
        "max_new_tokens": 4,
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = rita_client.post("/training/dpo/", form)

    run = rita_client.get(response["Location"]).content.decode()
    assert "pairs written" in run
    download = rita_client.get(response["Location"].replace("runs", "dpo") + "download/")
    rows = [json.loads(line) for line in b"".join(download.streaming_content).splitlines()]
    assert rows and set(rows[0]) == {"prompt", "chosen", "rejected"}


def test_a_file_with_both_directions_of_a_pair_in_one_context_keeps_neither():
    line = {"context": "c", "context_id": 1, "wiser": WISER, "less_wise": LESS_WISE}
    swapped = {"context": "c", "context_id": 1, "wiser": LESS_WISE, "less_wise": WISER}
    elsewhere = {**swapped, "context": "d", "context_id": 2}

    kept, two_way = preferences.one_way_preferences([line, swapped, elsewhere])

    assert kept == [elsewhere]
    assert two_way == 1


def test_a_pair_whose_two_answers_are_the_same_text_is_dropped_and_counted():
    pairs = preferences.pairs_from_preferences(
        [
            {"context": "c", "prompt": "Tell her?", "wiser": WISER, "less_wise": LESS_WISE},
            {"context": "c", "prompt": "Ask him?", "wiser": WISER, "less_wise": LESS_WISE},
        ]
    )
    identical = []

    def answer(system: str, prompt: str) -> str:
        if prompt == "Ask him?":
            return "Yes."
        return "gently" if "Gentle Honesty" in system else "bluntly"

    rows = preferences.preference_rows(pairs, answer, format="standard", identical=identical)

    assert rows == [{"prompt": "Tell her?", "chosen": "gently", "rejected": "bluntly"}]
    assert [pair.prompt for pair in identical] == ["Ask him?"]
    assert all(row["chosen"] != row["rejected"] for row in rows)


def test_a_pair_with_the_same_text_twice_asks_the_rejected_answer_again():
    pairs = preferences.pairs_from_preferences(
        [{"context": "c", "prompt": "Ask him?", "wiser": WISER, "less_wise": LESS_WISE}]
    )
    tries = iter(["Yes.", "Yes!"])
    identical = []

    rows = preferences.preference_rows(
        pairs,
        lambda system, prompt: "Yes.",
        format="standard",
        identical=identical,
        resample=lambda system, prompt: next(tries),
    )

    assert rows == [{"prompt": "Ask him?", "chosen": "Yes.", "rejected": "Yes!"}]
    assert identical == []
