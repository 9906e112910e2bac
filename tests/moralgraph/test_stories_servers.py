"""Upgrade stories against the servers researchers run: the long story field compiles everywhere."""

import pytest

from moralgraph.models import UpgradeStory
from moralgraph.stories import stories_generate
from tests.moralgraph.test_stories import DRAFT

pytestmark = pytest.mark.django_db


def test_stories_are_written_on_every_server(world, llm_server):
    for _ in range(20):
        llm_server.reply_json(DRAFT)

    counts = stories_generate(deliberation=world.deliberation, run_id="servers", per_card=1)

    assert counts["written"] > 0 and counts["failed"] == 0
    assert UpgradeStory.objects.filter(run_id="servers").count() == counts["written"]
    # The 2,000-character story limit is never sent for a grammar to compile.
    assert "grammar_too_large" not in llm_server.refusals
    for request in llm_server.chat_requests:
        assert '"maxLength": 2000' not in str(request) and "'maxLength': 2000" not in str(request)


def test_pairs_the_server_refuses_are_counted_as_failed_not_an_outage(world, settings):
    from tests.llm_double import OpenAIDouble

    with OpenAIDouble(profile="vllm", context_tokens=30) as double:
        settings.OPENAI_BASE_URL = double.url
        counts = stories_generate(deliberation=world.deliberation, run_id="refused", per_card=1)
        sent = len(double.chat_requests)

    assert counts["written"] == 0 and counts["failed"] == counts["candidate_pairs"] > 0
    assert sent == counts["failed"]  # one refused request per pair, none retried
