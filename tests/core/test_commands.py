"""Management commands: the demo loads once however often it runs; checks warn early."""

from django.core.management import call_command

from core.checks import check_celery_broker
from core.models import Participation, Study, User


def test_seed_demo_is_idempotent_and_prints_the_logins(db, capsys, client):
    call_command("seed_demo")
    call_command("seed_demo")
    output = capsys.readouterr().out

    assert User.objects.filter(username="researcher", role="researcher").count() == 1
    # Two demo participants in the study, and the annotation demo's three made-up annotators.
    assert User.objects.filter(role="participant").count() == 2 + 3
    assert Study.objects.filter(slug="demo").count() == 1
    assert Participation.objects.filter(study__slug="demo").count() == 2
    assert "kept researcher researcher / researcher" in output
    assert client.login(username="researcher", password="researcher")


def test_an_unreachable_broker_is_a_startup_warning(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    warnings = check_celery_broker(None)

    assert [w.id for w in warnings] == ["core.W003"]
    assert "127.0.0.1:1 does not answer" in warnings[0].msg


def test_the_embedded_broker_needs_no_check(settings):
    settings.CELERY_BROKER_URL = "filesystem://"

    assert check_celery_broker(None) == []
