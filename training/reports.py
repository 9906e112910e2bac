"""What the model pages show, built from a model card: tables and chart data (no database)."""

from typing import Any

from training.alignment import verdict

CLASS_NAMES = ("−1", "0", "+1")


def evaluator_report(card: dict[str, Any]) -> dict[str, Any]:
    """Return the per-dimension table (with baselines and confusion matrices) and charts."""
    metrics = card.get("metrics", {})
    test = metrics.get("test", {})
    dimensions = card.get("dimensions", [])
    rows = []
    for key in dimensions:
        m = test.get("dimensions", {}).get(key)
        if not m:
            continue
        rows.append(
            {
                "key": key,
                "m": m,
                "beats_baseline": m["macro_f1"] > m["baseline_macro_f1"],
                "confusion": list(zip(CLASS_NAMES, m["confusion"], strict=True)),
            }
        )
    history = card.get("history", [])
    dataset = card.get("dataset", {})
    by_split = dataset.get("sources_by_split", {})
    source_names = sorted({name for part in by_split.values() for name in part})
    splits = [
        {
            "name": name,
            "n": dataset.get("sizes", {}).get(name, 0),
            "sources": [by_split.get(name, {}).get(source, 0) for source in source_names],
        }
        for name in ("train", "validation", "test")
    ]
    config = card.get("config", {})
    config_rows = [
        (key, ", ".join(map(str, value)) if isinstance(value, list) else value)
        for key, value in config.items()
        if not isinstance(value, dict)
    ]
    return {
        "splits": splits,
        "source_names": source_names,
        "config_rows": config_rows,
        "overall": test.get("overall"),
        "validation": metrics.get("validation", {}).get("overall"),
        "rows": rows,
        "class_names": CLASS_NAMES,
        "f1_chart": {
            "type": "bar",
            "labels": [row["key"] for row in rows],
            "series": [
                {"label": "macro-F1", "values": [row["m"]["macro_f1"] for row in rows]},
                {
                    "label": "majority baseline",
                    "values": [row["m"]["baseline_macro_f1"] for row in rows],
                },
            ],
            "min": 0,
            "max": 1,
        },
        "history_chart": {
            "type": "line",
            "labels": [h["epoch"] for h in history],
            "series": [
                {"label": "training loss", "values": [round(h["loss"], 4) for h in history]},
                {
                    "label": "validation macro-F1",
                    "values": [h["validation_macro_f1"] for h in history],
                },
            ],
            "x": "epoch",
        },
        "dataset": card.get("dataset", {}),
        "config": card.get("config", {}),
        "git_revision": card.get("git_revision"),
        "train_seconds": card.get("train_seconds"),
        "train_samples_per_second": card.get("train_samples_per_second"),
        "design": card.get("design", "one-pass"),
    }


def policy_report(card: dict[str, Any]) -> dict[str, Any]:
    """Return the alignment report: distance before/after (FULCRA Table 1), the value
    distribution before/after (FULCRA Figure 8), the reward curve and samples side by side."""
    report = card.get("report", {})
    before, after = report.get("before", {}), report.get("after", {})
    target = card.get("target", {})
    dimensions = card.get("evaluator_dimensions") or list(target)
    shares_before = before.get("label_shares", {})
    shares_after = after.get("label_shares", {})

    def share(shares: dict, key: str, label: str) -> float | None:
        return shares.get(key, {}).get(label)

    after_samples = {s["prompt"]: s for s in after.get("samples", [])}
    samples = [
        {"prompt": s["prompt"], "before": s, "after": after_samples.get(s["prompt"])}
        for s in before.get("samples", [])
    ]
    distance_before = before.get("mean_distance")
    distance_after = after.get("mean_distance")
    change = report.get("change") or {}
    return {
        "distance_before": distance_before,
        "distance_after": distance_after,
        "change": change,
        # "closer" only when the paired bootstrap interval of the change excludes 0.
        "verdict": verdict(change),
        "improved": verdict(change) == "closer",
        "n_held_out": change.get("n") or before.get("n") or len(samples),
        "neutral_distance": before.get("neutral_distance"),
        "empty_answer_distance": before.get("empty_answer_distance"),
        "answer_rows": [
            {"name": name, "before": before.get(key), "after": after.get(key)}
            for name, key in (
                ("Empty", "empty_share"),
                ("Truncated (used every token)", "truncated_share"),
                ("Repetitive", "repeated_share"),
            )
        ],
        # Cosines in the evaluator's encoder: a stock reply to every prompt lowers the first and
        # raises the second, whatever the distance does.
        "closeness_rows": [
            {"name": name, "before": before.get(key), "after": after.get(key)}
            for name, key in (
                ("Engages the prompt (prompt–answer cosine)", "engagement"),
                ("Answers alike (cosine between answers to different prompts)", "sameness"),
            )
        ],
        "share_rows": [
            {
                "key": key,
                "upholds_before": share(shares_before, key, "1"),
                "upholds_after": share(shares_after, key, "1"),
                "violates_before": share(shares_before, key, "-1"),
                "violates_after": share(shares_after, key, "-1"),
            }
            for key in dimensions
        ],
        "prompt_format": card.get("prompt_format"),
        "reward": card.get("reward", {}),
        "target": target,
        "vector_rows": [
            {
                "key": key,
                "target": target.get(key),
                "before": before.get("mean_vector", {}).get(key),
                "after": after.get("mean_vector", {}).get(key),
            }
            for key in dimensions
        ],
        "vector_chart": {
            "type": "bar",
            "labels": dimensions,
            "series": [
                {
                    "label": "target",
                    "values": [target.get(k) for k in dimensions],
                    "colour": "#9aa3ae",
                },
                {
                    "label": "before",
                    "values": [before.get("mean_vector", {}).get(k) for k in dimensions],
                    "colour": "#d0702f",
                },
                {
                    "label": "after",
                    "values": [after.get("mean_vector", {}).get(k) for k in dimensions],
                    "colour": "#2f5fd0",
                },
            ],
            "min": -1,
            "max": 1,
            "y": "mean expected label",
        },
        "shares_chart": {
            "type": "bar",
            "labels": dimensions,
            "series": [
                {
                    "label": "upholds, before",
                    "colour": "#8fd1ad",
                    "values": [share(shares_before, k, "1") for k in dimensions],
                },
                {
                    "label": "upholds, after",
                    "colour": "#1f7a4d",
                    "values": [share(shares_after, k, "1") for k in dimensions],
                },
                {
                    "label": "violates, before",
                    "colour": "#f0a39c",
                    "values": [share(shares_before, k, "-1") for k in dimensions],
                },
                {
                    "label": "violates, after",
                    "colour": "#b3261e",
                    "values": [share(shares_after, k, "-1") for k in dimensions],
                },
            ],
            "min": 0,
            "max": 1,
            "y": "share of responses",
        },
        "reward_chart": {
            "type": "line",
            "labels": list(range(1, len(report.get("rewards", [])) + 1)),
            "series": [{"label": "mean reward", "values": report.get("rewards", [])}],
            "x": "step",
        },
        "samples": samples,
        "took": _duration(report.get("seconds")),
        "config": card.get("config", {}),
        # The align job records the prompts file; align() alone, the split's two parts.
        "n_prompts": card.get("prompts", {}).get("n")
        or (card.get("held_out", 0) + card.get("train_prompts", 0))
        or None,
    }


def _duration(seconds: float | None) -> str:
    """Return a run's length as a person reads it: "45 s", "17 min", "2 h 5 min"."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
