"""Interview overhead against the loopback LLM double: what ValueLab adds around each model call.

    python bench/bench_elicitation_interview.py [--interviews 20] [--latency 0.0]

Uses a throwaway SQLite file (or DATABASE_URL), migrates it, serves the scripted double and runs
whole interviews through the services the pages and API use: start, three streamed turns, the
card, approval. Prints the time to the first streamed piece and per turn (p50/p95), the card
step, and checks that every chat ended with exactly one reply per participant message.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
DB = Path(tempfile.gettempdir()) / "valuelab-bench-interview.sqlite3"
if "DATABASE_URL" not in os.environ:
    DB.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{DB}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.0, help="the double's delay (s)")
    options = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from core.models import User
    from elicitation.models import Chat, Message
    from elicitation.services.card_drafts import chat_card_write
    from elicitation.services.cards import card_approve
    from elicitation.services.interviews import chat_start, chat_turn, message_post
    from tests.elicitation.factories import ScenarioFactory
    from tests.elicitation.interview_script import script_interview
    from tests.llm_double import OpenAIDouble

    double = OpenAIDouble().start()
    double.latency = options.latency
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = double.url, "bench"
    settings.VALUELAB_LLM_BUDGET = 10_000
    scenario = ScenarioFactory(question="Should I forgive my brother?")
    first_piece, turns, cards = [], [], []
    for index in range(options.interviews):
        user, _ = User.objects.get_or_create(username=f"bench-{index}", role="participant")
        script_interview(double)
        chat = chat_start(participant=user, scenario=scenario)
        for answer in ["Trust", "My aunt listened to me", "Whether I felt heard"]:
            started = time.perf_counter()
            message_post(chat=chat, text=answer)
            seen_first = False
            for event in chat_turn(chat=chat):
                if event.kind == "delta" and not seen_first:
                    first_piece.append(time.perf_counter() - started)
                    seen_first = True
                if event.kind == "card":
                    cards.append(time.perf_counter() - started)
            turns.append(time.perf_counter() - started)
        if Chat.objects.get(pk=chat.pk).state != "card_proposed":
            list(chat_card_write(chat=chat))
        card_approve(chat=chat)
    double.stop()

    ms = 1000
    print(f"interviews: {options.interviews}, double latency {options.latency:g} s")
    print(
        f"first streamed piece: p50 {statistics.median(first_piece) * ms:.1f} ms, "
        f"p95 {percentile(first_piece, 0.95) * ms:.1f} ms"
    )
    print(
        f"whole turn (store, stream, store reply): p50 {statistics.median(turns) * ms:.1f} ms, "
        f"p95 {percentile(turns, 0.95) * ms:.1f} ms"
    )
    print(f"last turn incl. card: p50 {statistics.median(cards) * ms:.1f} ms")
    chats = Chat.objects.count()
    approved = Chat.objects.filter(state="approved").count()
    users = Message.objects.filter(role="user").count()
    replies = Message.objects.filter(role="assistant").exclude(reply_to=None).count()
    print(f"chats {chats}, approved {approved}, participant messages {users}, replies {replies}")
    assert approved == chats == options.interviews and users == replies


if __name__ == "__main__":
    main()
