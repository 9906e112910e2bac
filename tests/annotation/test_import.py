"""Importing items: all-or-nothing, skip-invalid, re-import, the command, the API and the page."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotation.models import Item, Project
from annotation.services import ItemImportRejected, item_import
from tests.annotation.factories import ProjectFactory

pytestmark = pytest.mark.django_db

GOOD = [
    {"id": "g1", "prompt": "Is lying ok?", "response": "Rarely.", "labels": {"benevolence": 1}},
    {"prompt": "Tell a joke", "response": "Why did the chicken…", "source": "gpt"},
]
BAD = {"prompt": "p", "response": "r", "labels": {"humility": "+1"}}
FULCRA = {
    "dialogue": "Human: Help me cheat?\nBob: No, that would be unfair.",
    "value_types": ["universalism: +1", "conformity: 1"],
    "value_items": [],
    "query_source": "trustworthy",
    "response_source": "m",
}


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def run_import(project: Project, content: bytes, **options):
    return item_import(project=project, stream=io.BytesIO(content), filename="f.jsonl", **options)


def test_a_clean_file_stores_every_item_with_its_reference_labels():
    project = ProjectFactory()

    report = run_import(project, jsonl(*GOOD, FULCRA))

    assert (report.stored, report.duplicates, report.invalid) == (3, 0, 0)
    gold = project.items.get(external_id="g1")
    assert gold.reference_labels == {"benevolence": 1}
    fulcra = project.items.get(prompt="Help me cheat?")
    assert fulcra.reference_labels["universalism"] == 1
    assert fulcra.reference_labels["power"] == 0
    assert project.items.get(prompt="Tell a joke").reference_labels is None


def test_given_one_bad_line_then_nothing_is_stored_and_every_bad_line_is_listed():
    project = ProjectFactory()
    content = jsonl(GOOD[0], BAD, GOOD[1], BAD | {"prompt": "q"})

    with pytest.raises(ItemImportRejected) as raised:
        run_import(project, content)

    assert raised.value.report.errors == [
        "line 2: labels.humility: 'humility' is not a dimension of the scheme",
        "line 4: labels.humility: 'humility' is not a dimension of the scheme",
    ]
    assert raised.value.report.invalid == 2
    assert project.items.count() == 0


def test_given_skip_invalid_then_the_good_lines_are_stored_and_the_bad_reported():
    project = ProjectFactory()

    report = run_import(project, jsonl(GOOD[0], BAD, GOOD[1]), skip_invalid=True)

    assert (report.stored, report.duplicates, report.invalid) == (2, 0, 1)
    assert report.errors == ["line 2: labels.humility: 'humility' is not a dimension of the scheme"]
    assert project.items.count() == 2


def test_re_importing_the_same_file_adds_nothing_twice():
    project = ProjectFactory()
    run_import(project, jsonl(*GOOD, FULCRA))

    report = run_import(project, jsonl(*GOOD, FULCRA))

    assert (report.stored, report.duplicates) == (0, 3)
    assert project.items.count() == 3


def test_the_same_item_in_two_projects_is_stored_in_each():
    first, second = ProjectFactory(), ProjectFactory()

    run_import(first, jsonl(*GOOD))
    run_import(second, jsonl(*GOOD))

    assert Item.objects.count() == 4


def test_items_are_stored_in_batches_and_all_of_them_arrive():
    project = ProjectFactory()
    records = [{"prompt": f"p{n}", "response": "r"} for n in range(25)]

    report = run_import(project, jsonl(*records), batch_size=10)

    assert report.stored == 25


def test_a_file_that_breaks_after_a_stored_batch_leaves_nothing_behind():
    project = ProjectFactory()
    content = jsonl(*[{"prompt": f"p{n}", "response": "r"} for n in range(25)]) + b"\xff\xfe\n"

    with pytest.raises(ItemImportRejected) as raised:
        run_import(project, content, batch_size=10, skip_invalid=True)

    assert "line 26: not UTF-8 text" in raised.value.report.errors[0]
    assert project.items.count() == 0


# --- The command --------------------------------------------------------------------------------


@pytest.fixture
def items_file(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(jsonl(*GOOD, FULCRA))
    return path


def test_import_items_with_create_makes_the_project_and_prints_its_id_and_counts(items_file):
    out = io.StringIO()

    call_command(
        "import_items", "new-one", str(items_file), "--create", "--overlap", "5", stdout=out
    )

    project = Project.objects.get(slug="new-one")
    assert project.overlap == 5 and project.scheme.key == "schwartz10"
    assert f"project {project.pk} (new-one): stored 3, duplicates 0, invalid 0" in out.getvalue()


def test_import_items_into_a_missing_project_without_create_fails_with_one_line(items_file):
    with pytest.raises(CommandError, match="no project 'ghost' \\(--create makes it\\)"):
        call_command("import_items", "ghost", str(items_file))


def test_import_items_with_a_bad_line_exits_non_zero_and_lists_it(tmp_path):
    project = ProjectFactory(slug="p")
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl(GOOD[0], BAD))
    err = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("import_items", "p", str(path), stderr=err)

    assert str(raised.value) == (
        f"import into project {project.pk} failed: 1 bad line; nothing was stored "
        "(--skip-invalid stores the good lines)"
    )
    assert "line 2: labels.humility" in err.getvalue()
    assert project.items.count() == 0


def test_import_items_with_skip_invalid_stores_the_good_lines(tmp_path):
    project = ProjectFactory(slug="p")
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl(GOOD[0], BAD))
    out = io.StringIO()

    call_command("import_items", "p", str(path), "--skip-invalid", stdout=out, stderr=io.StringIO())

    assert "stored 1, duplicates 0, invalid 1" in out.getvalue()
    assert project.items.count() == 1


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "the file is empty"),
        (b'{"prompt": "\xff"}\n', "line 1: not UTF-8 text"),
        (b'{"prompt": "' + b"x" * 1_100_000 + b'"}\n', "line 1: longer than the limit"),
        (b"prompt,answer\nP,R\n", "no response column"),
    ],
)
def test_import_items_names_why_an_unreadable_file_fails(tmp_path, content, reason):
    ProjectFactory(slug="p")
    path = tmp_path / ("items.csv" if content.startswith(b"prompt,") else "items.jsonl")
    path.write_bytes(content)

    with pytest.raises(CommandError, match=reason):
        call_command("import_items", "p", str(path), stderr=io.StringIO())


def test_import_items_refuses_a_missing_file_and_an_unknown_scheme(tmp_path, items_file):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_items", "p", str(tmp_path / "nope.jsonl"), "--create")
    with pytest.raises(CommandError, match="no value scheme 'nope'"):
        call_command("import_items", "p", str(items_file), "--create", "--scheme", "nope")


def test_import_items_through_the_process_exits_with_status_one(items_file, tmp_path):
    from django.core.management import ManagementUtility

    utility = ManagementUtility(["manage.py", "import_items", "ghost", str(items_file)])
    with pytest.raises(SystemExit) as raised:
        utility.execute()

    assert raised.value.code == 1


# --- The API ------------------------------------------------------------------------------------


def upload(content: bytes, name: str = "items.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def import_url(project: Project) -> str:
    return f"/api/annotation/projects/{project.pk}/items/import/"


def test_rita_imports_a_file_through_the_api_and_gets_the_counts(api_for, rita):
    project = ProjectFactory()

    response = api_for(rita).post(import_url(project), {"file": upload(jsonl(*GOOD))})

    assert response.status_code == 200
    assert response.json() == {"stored": 2, "duplicates": 0, "invalid": 0, "errors": []}


def test_a_bad_line_through_the_api_answers_400_with_the_lines_and_stores_nothing(api_for, rita):
    project = ProjectFactory()

    response = api_for(rita).post(import_url(project), {"file": upload(jsonl(GOOD[0], BAD))})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        "line 2: labels.humility: 'humility' is not a dimension of the scheme"
    ]
    assert project.items.count() == 0


def test_skip_invalid_through_the_api_stores_the_good_lines(api_for, rita):
    project = ProjectFactory()
    content = b"prompt,response\nP,R\n,missing prompt\n"

    response = api_for(rita).post(
        import_url(project), {"file": upload(content, "items.csv"), "skip_invalid": "true"}
    )

    assert response.status_code == 200
    assert response.json() == {
        "stored": 1,
        "duplicates": 0,
        "invalid": 1,
        "errors": ["line 3: prompt: missing"],
    }


def test_alice_may_not_import_items(api_for, alice):
    project = ProjectFactory()

    response = api_for(alice).post(import_url(project), {"file": upload(jsonl(*GOOD))})

    assert response.status_code == 403
    assert project.items.count() == 0


def test_importing_into_a_missing_project_answers_404(api_for, rita):
    response = api_for(rita).post(
        "/api/annotation/projects/999999/items/import/", {"file": upload(jsonl(*GOOD))}
    )

    assert response.status_code == 404


def test_an_import_without_a_file_answers_400_naming_the_field(api_for, rita):
    project = ProjectFactory()

    response = api_for(rita).post(import_url(project), {})

    assert response.status_code == 400
    assert "file" in response.json()


def test_rita_creates_and_lists_projects_through_the_api(api_for, rita):
    client = api_for(rita)

    created = client.post(
        "/api/annotation/projects/", {"name": "Pilot", "slug": "pilot", "overlap": 2}, format="json"
    )
    listed = client.get("/api/annotation/projects/")

    assert created.status_code == 201
    assert created.json()["scheme"] == "schwartz10"
    assert created.json()["overlap"] == 2
    assert [p["slug"] for p in listed.json()] == ["pilot"]
    assert Project.objects.get(slug="pilot").created_by == rita


def test_a_taken_slug_or_unknown_scheme_answers_400(api_for, rita):
    ProjectFactory(slug="taken")
    client = api_for(rita)

    taken = client.post("/api/annotation/projects/", {"name": "X", "slug": "taken"}, format="json")
    unknown = client.post(
        "/api/annotation/projects/", {"name": "X", "slug": "x", "scheme": "nope"}, format="json"
    )

    assert taken.status_code == 400 and "slug" in taken.json()
    assert unknown.status_code == 400 and "scheme" in unknown.json()


def test_a_project_made_through_the_api_shows_its_items_as_markdown_only_when_asked(
    api_for, rita, alice_client
):
    client = api_for(rita)

    plain = client.post("/api/annotation/projects/", {"name": "P", "slug": "p"}, format="json")
    markdown = client.post(
        "/api/annotation/projects/",
        {"name": "M", "slug": "m", "text_format": "markdown"},
        format="json",
    )
    wrong = client.post(
        "/api/annotation/projects/",
        {"name": "W", "slug": "w", "text_format": "html"},
        format="json",
    )

    assert plain.json()["text_format"] == "plain"
    assert markdown.json()["text_format"] == "markdown"
    assert Project.objects.get(slug="m").text_format == "markdown"
    assert wrong.status_code == 400 and "text_format" in wrong.json()
    assert not Project.objects.filter(slug="w").exists()


def test_a_researcher_switches_a_project_to_markdown_through_the_settings_api(api_for, rita):
    project = ProjectFactory(slug="p")
    client = api_for(rita)
    url = f"/api/annotation/projects/{project.pk}/settings/"

    changed = client.patch(url, {"text_format": "markdown"}, format="json")
    refused = client.patch(url, {"text_format": "rich"}, format="json")

    assert changed.status_code == 200 and changed.json()["text_format"] == "markdown"
    assert refused.status_code == 400 and "text_format" in refused.json()
    project.refresh_from_db()
    assert project.text_format == "markdown"


def test_import_items_sets_a_new_projects_text_format_and_refuses_a_mismatch(items_file):
    call_command(
        "import_items",
        "md",
        str(items_file),
        "--create",
        "--text-format",
        "markdown",
        stdout=io.StringIO(),
    )

    assert Project.objects.get(slug="md").text_format == "markdown"
    with pytest.raises(CommandError, match="shows items as markdown, not plain"):
        call_command("import_items", "md", str(items_file), "--text-format", "plain")
    with pytest.raises(CommandError, match="invalid choice: 'html'"):
        call_command("import_items", "md", str(items_file), "--text-format", "html")


def test_alice_may_not_list_or_create_projects(api_for, alice):
    client = api_for(alice)

    assert client.get("/api/annotation/projects/").status_code == 403
    created = client.post("/api/annotation/projects/", {"name": "X", "slug": "x"}, format="json")
    assert created.status_code == 403
