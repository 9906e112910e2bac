"""After an alignment run, the policy before and after appear as two subjects and compare."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.models import ItemPool, Run, Subject
from tests.training.conftest import tiny_policy  # noqa: F401  (fixture)
from training.models import ModelArtifact
from training.schemes import SCHWARTZ10
from training.services import alignment_run

pytestmark = pytest.mark.django_db

FULCRA = {key: 0.0 for key in SCHWARTZ10} | {
    key: 1.0 for key in ("security", "conformity", "benevolence", "universalism", "achievement")
}


@pytest.fixture
def aligned(evaluator_dir, tiny_policy, prompts_file, tmp_path):  # noqa: F811
    return alignment_run(
        evaluator_dir=evaluator_dir,
        policy=str(tiny_policy),
        prompts_file=prompts_file,
        target=FULCRA,
        out=tmp_path / "kind-llama",
        steps=2,
        num_generations=2,
        max_completion_length=4,
        report_prompts=1,
    )


def test_an_aligned_policy_appears_before_and_after_and_the_two_compare(
    rita_client,
    aligned,
    evaluator_dir,
    tiny_policy,  # noqa: F811
    eager_jobs,
    django_capture_on_commit_callbacks,
):
    evaluator = ModelArtifact.objects.create(
        kind="evaluator", name="tiny", path=str(evaluator_dir.resolve()), scheme="schwartz10"
    )
    upload_lines = "\n".join(
        f'{{"prompt": "Question {i}: what about the house?"}}' for i in range(3)
    )
    rita_client.post(
        "/evaluation/",
        {"action": "pool", "file": SimpleUploadedFile("house.jsonl", upload_lines.encode())},
    )

    page = rita_client.get("/evaluation/").content.decode()

    before = Subject.objects.get(policy_path=str(tiny_policy))
    after = Subject.objects.get(policy=aligned)
    assert before.name in page and after.name in page
    assert "(before kind-llama)" in before.name and after.name == "kind-llama (after)"
    rita_client.get("/evaluation/")  # listing again registers nothing twice
    assert Subject.objects.filter(kind="policy").count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        rita_client.post(
            "/evaluation/",
            {
                "action": "run",
                "subjects": [before.pk, after.pk],
                "pool": ItemPool.objects.get(name="house").pk,
                "evaluator": evaluator.pk,
            },
        )
    runs = list(Run.objects.order_by("pk"))
    assert [run.status for run in runs] == ["done", "done"], [run.message for run in runs]
    assert [run.profile["n"] for run in runs] == [3, 3]

    compare = rita_client.get(
        "/evaluation/compare/", {"run": [str(run.pk) for run in runs]}
    ).content.decode()
    assert before.name in compare and after.name in compare
    assert compare.count('<span class="muted">n=3</span>') == 2
