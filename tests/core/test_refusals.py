"""Hostile input gets a clear refusal, never a 500; health says ok or not, nothing more."""

import io
import json

import pytest

from annotation.services import ItemImportRejected, item_import
from tests.annotation.factories import ProjectFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000
GOOD = {"prompt": "Is lying ok?", "response": "Rarely."}


def test_an_import_line_nested_100k_deep_is_a_line_error_not_a_crash():
    project = ProjectFactory()
    content = (json.dumps(GOOD) + "\n" + DEEP + "\n").encode()

    with pytest.raises(ItemImportRejected) as raised:
        item_import(project=project, stream=io.BytesIO(content), filename="f.jsonl")

    assert raised.value.report.errors == ["line 2: json: not valid JSON here (nested too deeply)"]
    assert project.items.count() == 0

    report = item_import(
        project=project, stream=io.BytesIO(content), filename="f.jsonl", skip_invalid=True
    )
    assert (report.stored, report.invalid) == (1, 1)


def test_a_csv_json_column_nested_too_deep_names_the_column():
    project = ProjectFactory()
    content = f'prompt,response,meta\n"p","r","{"[" * 50_000}"\n'.encode()

    with pytest.raises(ItemImportRejected) as raised:
        item_import(project=project, stream=io.BytesIO(content), filename="f.csv")

    assert raised.value.report.errors == ["line 2: meta: not valid JSON here (nested too deeply)"]


def test_a_target_upload_nested_40k_deep_is_refused_with_a_reason():
    from training.targets import TargetError, parse_upload

    with pytest.raises(TargetError, match="nested too deeply"):
        parse_upload("[" * 40_000, ["power", "security"])


def test_the_target_page_answers_400_not_500(rita_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("target.json", b"[" * 40_000, content_type="application/json")
    response = rita_client.post(
        "/training/targets/", {"action": "upload", "file": upload, "name": "deep"}
    )

    assert response.status_code in (200, 400)
    assert b"nested too deeply" in response.content


def test_health_hides_the_database_error_from_callers(anon, monkeypatch):
    from django.db import connection

    def broken():
        raise RuntimeError('password authentication failed for user "valuelab" at 10.0.0.5')

    monkeypatch.setattr(connection, "cursor", broken)

    response = anon.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error"}
    assert b"password" not in response.content and b"10.0.0.5" not in response.content
