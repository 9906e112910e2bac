"""The training files written as JSONL appear whole, with non-ASCII text kept, or not at all."""

import pytest

from annotation.models import Item, Project
from core.models import ValueScheme
from tests.training.conftest import synthetic_rows
from training.services import project_training_file, prompts_write


def test_prompts_are_written_once_each_in_order_with_non_ascii_kept(tmp_path):
    path = tmp_path / "prompts.jsonl"

    prompts_write(prompts=["Wie geht's?", "  ", "平和とは", "Wie geht's?", "Why?"], path=path)

    assert path.read_bytes().decode("utf-8") == (
        '{"prompt": "Wie geht\'s?"}\n{"prompt": "平和とは"}\n{"prompt": "Why?"}\n'
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts.jsonl"]


@pytest.mark.django_db
def test_a_project_file_failing_half_way_leaves_the_old_file_and_no_scraps(tmp_path):
    scheme = ValueScheme.objects.get(key="schwartz10")
    project = Project.objects.create(name="Cues", slug="cues", scheme=scheme)
    for row in synthetic_rows(5):
        Item.objects.create(
            project=project,
            external_id=row["id"],
            prompt=row["prompt"],
            response=row["response"],
            reference_labels=row["labels"],
        )
    # Imported with one value only: its training vector cannot be built.
    Item.objects.create(
        project=project,
        external_id="partial",
        prompt="q",
        response="r",
        reference_labels={"benevolence": 1},
    )
    path = tmp_path / "train.jsonl"
    path.write_text('{"old": true}\n', encoding="utf-8")

    with pytest.raises(KeyError):
        project_training_file(project=project, path=path)

    assert path.read_text(encoding="utf-8") == '{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]
