"""Benchmark the embedded local LLM: conversion, loads, first token, speed, structured, embeddings.

    python bench/bench_local_llm.py [--fresh-cache]
    nice -n 10 python bench/bench_local_llm.py --interview 10 [--turns 3]

``--fresh-cache`` converts into a temporary VALUELAB_MODEL_CACHE so the cold conversion is timed
even when the usual cache exists. Prints a small table; nothing is written to the database.

``--interview N`` instead runs the interview as a participant meets it, through the services
(``chat_turn``, ``chat_card_write``) on a throw-away SQLite database: the time of interview turns
(and their replies, to read whether they ask a question), then N card writes on N different
conversations, counted as schema-valid & on-style, schema-valid but off-style (proposed with
hints), left with fewer than 3 different policies once repeats and cut-off copies are taken
out (proposed for the participant to complete), or no card at all (written by hand).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
if "--interview" in sys.argv:
    _scratch_db = Path(tempfile.mkdtemp(prefix="valuelab-bench-db-")) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{_scratch_db}"
os.environ["OPENAI_BASE_URL"] = ""  # the local backend, whatever the shell says
os.environ["OPENAI_API_KEY"] = ""

import django  # noqa: E402

django.setup()

import torch  # noqa: E402
from django.conf import settings  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from core.llm import local, local_files, local_models  # noqa: E402
from core.llm.base import ChatResult, Generation  # noqa: E402


class ValuesCard(BaseModel):
    title: str = Field(max_length=60)
    description: str = Field(max_length=300)
    policies: list[str] = Field(min_length=1, max_length=3)


ANSWER_PROMPT = [
    {"role": "user", "content": "Explain in about 80 words why honesty matters in friendship."}
]
CARD_PROMPT = [
    {"role": "system", "content": "Write a values card as JSON: title, description, policies."},
    {"role": "user", "content": "I want to be honest when a friend asks about their work."},
]
SENTENCES = [f"Sentence number {i} about values, honesty and care for others." for i in range(256)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh-cache", action="store_true", help="time a cold conversion")
    parser.add_argument(
        "--interview", type=int, metavar="N", help="time interview turns and N card writes"
    )
    parser.add_argument(
        "--turns",
        type=int,
        default=3,
        metavar="C",
        help="with --interview: C conversations of 2 turns",
    )
    options = parser.parse_args()
    if local_files.gguf_path() is None:
        sys.exit(f"{local_files.CHAT_GGUF} is not installed ({local_files.CHAT_PACKAGE}).")
    if options.interview:
        bench_interview(options.interview, conversations=options.turns)
        return
    rows: list[tuple[str, str]] = [("CPU threads (torch)", str(torch.get_num_threads()))]
    if options.fresh_cache:
        fresh = Path(tempfile.mkdtemp(prefix="valuelab-bench-"))
        settings.VALUELAB_MODEL_CACHE = fresh
    _, created, seconds = local_files.prepare_chat_model()
    rows.append(("cold conversion from GGUF", f"{seconds:.1f} s" if created else "cached"))

    started = time.monotonic()
    local_models.load_chat_model()
    rows.append(("first load (incl. lazy imports)", f"{time.monotonic() - started:.2f} s"))
    local_models._chat = None  # load again: the warm load a restarted worker pays after its imports
    started = time.monotonic()
    local_models.load_chat_model()
    rows.append(("warm load from the cache", f"{time.monotonic() - started:.2f} s"))

    backend = local.LocalBackend()
    backend.chat(ANSWER_PROMPT, Generation(model="", max_tokens=8))  # warm-up
    stream = backend.stream(ANSWER_PROMPT, Generation(model="", max_tokens=120))
    started = time.monotonic()
    first_token_at = None
    for _ in stream:
        if first_token_at is None:
            first_token_at = time.monotonic()
    finished = time.monotonic()
    tokens = stream.completion_tokens
    rows.append(("time to first token (stream)", f"{(first_token_at - started) * 1000:.0f} ms"))
    rows.append(
        (
            f"streaming speed ({tokens} tokens)",
            f"{tokens / (finished - first_token_at):.1f} tokens/s",
        )
    )

    started = time.monotonic()
    reply: ChatResult = backend.structured(CARD_PROMPT, ValuesCard, Generation(model=""))
    seconds = time.monotonic() - started
    ValuesCard.model_validate_json(reply.text)
    rows.append(
        (
            "structured values card, first (builds index)",
            f"{seconds:.1f} s, {reply.completion_tokens} tokens",
        )
    )
    started = time.monotonic()
    reply = backend.structured(CARD_PROMPT, ValuesCard, Generation(model=""))
    rows.append(("structured values card, again", f"{time.monotonic() - started:.1f} s"))

    backend.embed(SENTENCES[:4])  # load the encoder
    started = time.monotonic()
    backend.embed(SENTENCES)
    rate = len(SENTENCES) / (time.monotonic() - started)
    rows.append((f"embeddings ({len(SENTENCES)} sentences)", f"{rate:.0f} texts/s"))

    width = max(len(name) for name, _ in rows)
    print(f"\n{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 24}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    print(f"\nstructured sample: {reply.text}")
    if options.fresh_cache:
        shutil.rmtree(fresh, ignore_errors=True)


# (participant's first answer, interviewer's follow-up, participant's second answer)
CONVERSATIONS = [
    (
        "A good answer helps me say honestly how I feel to my friend.",
        "When was a time you told a friend how you felt?",
        "Last year I told my friend I was hurt she forgot my birthday. I looked for a calm moment "
        "and said it without blaming her, and she listened.",
    ),
    (
        "It should not tell me what to do, it should help me think.",
        "When did someone help you think something through?",
        "My aunt asked me what I wanted from the friendship. I noticed what mattered to me once "
        "I said it out loud.",
    ),
    (
        "It should remind me that people get busy and it is not always about me.",
        "When did you notice that someone was busy rather than uninterested?",
        "My friend had a new baby. I paid attention to the small messages she still sent me.",
    ),
    (
        "I want it to help me keep my self-respect.",
        "When did you feel you kept your self-respect with a friend?",
        "I stopped inviting a friend who always cancelled. I looked at whether I was the only "
        "one making an effort.",
    ),
    (
        "A good answer asks whether the friend is going through something.",
        "When did you find out a friend was going through something?",
        "My friend was depressed and cancelled a lot. I noticed she stopped posting and asked "
        "her gently how she was.",
    ),
    (
        "It should help me talk to my friend directly instead of guessing.",
        "When did talking directly help you?",
        "I asked my friend why she cancelled and she said she was short of money. I looked for "
        "a plan that cost nothing.",
    ),
    (
        "Fairness matters to me: both people should put in effort.",
        "When did you notice the effort was uneven?",
        "I always drove to see my friend. I started noticing who suggested the plans and who "
        "followed up.",
    ),
    (
        "It should be kind but honest.",
        "When was someone kind but honest with you?",
        "My brother told me I was too pushy with plans. He picked a quiet moment and gave me an "
        "example.",
    ),
    (
        "I want it to help me let go of friendships that do not work.",
        "When did you let go of a friendship?",
        "I let a friend drift away after many cancellations. I noticed I felt relief, not loss, "
        "when plans fell through.",
    ),
    (
        "It should suggest something small to do together.",
        "When did a small plan work out with a friend?",
        "We started walking together on Sundays. I looked for plans that were easy to keep and "
        "did not need much time.",
    ),
]
QUESTION = "My friend keeps cancelling plans. What should I do?"


def bench_interview(tries: int, *, conversations: int = 3) -> None:
    """Time interview turns and ``tries`` card writes through the services (see the doc)."""
    from django.core.management import call_command

    from core.models import User
    from elicitation import card_rules, interview
    from elicitation.models import Deliberation, Message, Scenario
    from elicitation.selectors import card_incomplete
    from elicitation.services.card_drafts import chat_card_write
    from elicitation.services.interviews import chat_reply, chat_start, message_post

    settings.VALUELAB_LLM_TIMEOUT = 600
    settings.VALUELAB_LLM_BUDGET = 100_000  # no daily cap in a bench
    call_command("migrate", verbosity=0)

    def participant(n: int) -> User:
        # One participant per chat: a participant's second chat on a scenario resumes the first.
        return User.objects.create_user(username=f"bench-{n}", role=User.Role.PARTICIPANT)

    deliberation = Deliberation.objects.create(name="bench", title="Bench")
    scenario = Scenario.objects.create(deliberation=deliberation, question=QUESTION)
    local_models.load_chat_model()
    print(f"prompt: {interview.prompt_current(backend='local').name}")

    turns: list[float] = []
    for n, (first, _, second) in enumerate(CONVERSATIONS[:conversations]):
        chat = chat_start(participant=participant(100 + n), scenario=scenario)
        for text in (first, second):
            message_post(chat=chat, text=text)
            started = time.monotonic()
            reply, _, failure = chat_reply(chat=chat)
            turns.append(time.monotonic() - started)
            shown = reply.text if reply else f"(failed: {failure.text})"
            print(
                f"  turn {turns[-1]:5.1f} s  participant: {text[:50]}…\n"
                f"               interviewer: {shown}",
                flush=True,
            )

    outcomes = {"on-style": 0, "off-style (hints)": 0, "to complete (<3 policies)": 0, "no card": 0}
    writes: list[float] = []
    for n in range(tries):
        first, question, second = CONVERSATIONS[n % len(CONVERSATIONS)]
        chat = chat_start(participant=participant(n), scenario=scenario)
        message_post(chat=chat, text=first)
        Message.objects.create(chat=chat, role=Message.Role.ASSISTANT, text=question)
        message_post(chat=chat, text=second)
        Message.objects.create(chat=chat, role=Message.Role.ASSISTANT, text="Thank you.")
        started = time.monotonic()
        events = list(chat_card_write(chat=chat))
        writes.append(time.monotonic() - started)
        card = next((event.card for event in events if event.kind == "card"), None)
        if card is None:
            outcome = "no card"
        elif card_incomplete(card=card):
            outcome = "to complete (<3 policies)"
        elif card_rules.style_hints(
            title=card.title, description=card.description, policies=card.policies
        ):
            outcome = "off-style (hints)"
        else:
            outcome = "on-style"
        outcomes[outcome] += 1
        chat.refresh_from_db()
        shown = f"{card.title!r} {card.policies!r}" if card else chat.last_error
        print(f"  card {n + 1:2d}  {writes[-1]:5.1f} s  {outcome:26s} {shown[:300]}", flush=True)

    def spread(values: list[float]) -> str:
        ordered = sorted(values)
        middle = ordered[len(ordered) // 2]
        return (
            f"median {middle:.1f} s (min {ordered[0]:.1f}, max {ordered[-1]:.1f}, n={len(values)})"
        )

    if turns:
        print(f"\ninterview turn:  {spread(turns)}")
    print(f"card write:      {spread(writes)}")
    print("card outcomes:   " + ", ".join(f"{k} {v}/{tries}" for k, v in outcomes.items()))
    print(f"CPU threads (torch): {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
