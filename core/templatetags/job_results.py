"""A job's result as a researcher reads it: tables, never a Python dict or a file path."""

from __future__ import annotations

import re
from pathlib import PurePath

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

MAX_DEPTH = 4
MAX_ROWS = 50
MAX_LIST_WORDS = 20
# Keys whose values are files or folders on the server: shown by their last part only.
PATH_KEYS = {"path", "out", "data", "file", "dir", "directory", "output_dir", "model_dir"}
# Keys naming a registered model: linked to its page.
ARTIFACT_KEYS = {"artifact", "artifact_id", "model"}
WORDS = {"n": "n", "id": "id", "f1": "F1", "llm": "LLM", "dpo": "DPO", "ci": "CI", "url": "URL"}
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


def humanize_key(key: object) -> str:
    """``distance_before`` → "Distance before"; ``macro_f1`` → "Macro F1"."""
    words = re.split(r"[_\s]+", str(key).strip()) or [str(key)]
    shown = [WORDS.get(word.lower(), word) for word in words if word]
    if not shown:
        return str(key)
    first = shown[0]
    shown[0] = first if first in WORDS.values() else first[:1].upper() + first[1:]
    return " ".join(shown)


def _looks_like_path(text: str) -> bool:
    var_dir = str(getattr(settings, "VAR_DIR", ""))
    return (
        text.startswith(("/", "~/", "./", "../"))
        or bool(_WINDOWS_PATH.match(text))
        or (bool(var_dir) and text.startswith(var_dir))
        or text.startswith("var/")
    )


def _scalar(value: object, key: str = "") -> SafeString:
    if value is None or value == "":
        return mark_safe("—")
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    if isinstance(value, int):
        if key in ARTIFACT_KEYS:
            try:
                url = reverse("training:model", args=[value])
            except NoReverseMatch:
                url = ""
            if url:
                return format_html('<a href="{}">model {}</a>', url, value)
        return format_html("{}", f"{value:,}")
    if isinstance(value, float):
        return format_html("{}", f"{value:.4g}")
    text = str(value)
    if key in PATH_KEYS or _looks_like_path(text):
        name = PurePath(text.replace("\\", "/")).name or text
        return format_html('<span title="a file on the server">{}</span>', name)
    return format_html("{}", text)


def _list(values: list, key: str, depth: int) -> SafeString:
    if not values:
        return mark_safe("none")
    if all(isinstance(item, dict) for item in values):
        columns: list[str] = []
        for item in values[:MAX_ROWS]:
            columns += [column for column in item if column not in columns]
        head = format_html_join("", "<th>{}</th>", ((humanize_key(c),) for c in columns))
        rows = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (
                    format_html_join(
                        "",
                        "<td>{}</td>",
                        ((_value(item.get(c), c, depth + 1),) for c in columns),
                    ),
                )
                for item in values[:MAX_ROWS]
            ),
        )
        more = (
            format_html('<p class="muted">and {} more</p>', f"{len(values) - MAX_ROWS:,}")
            if len(values) > MAX_ROWS
            else ""
        )
        return format_html(
            '<div class="table-wrap"><table class="job-result"><thead><tr>{}</tr></thead>'
            "<tbody>{}</tbody></table></div>{}",
            head,
            rows,
            more,
        )
    if all(not isinstance(item, (dict, list, tuple)) for item in values):
        first = values[:MAX_LIST_WORDS]
        shown = format_html_join(", ", "{}", ((_scalar(item, key),) for item in first))
        if len(values) > MAX_LIST_WORDS:
            return format_html("{} and {} more", shown, f"{len(values) - MAX_LIST_WORDS:,}")
        return shown
    return format_html(
        "<ol>{}</ol>",
        format_html_join("", "<li>{}</li>", ((_value(item, key, depth + 1),) for item in values)),
    )


def _dict(values: dict, depth: int) -> SafeString:
    if not values:
        return mark_safe("none")
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td></tr>',
        ((humanize_key(key), _value(value, str(key), depth + 1)) for key, value in values.items()),
    )
    return format_html('<table class="job-result"><tbody>{}</tbody></table>', rows)


def _value(value: object, key: str, depth: int) -> SafeString:
    if depth > MAX_DEPTH and isinstance(value, (dict, list, tuple)):
        return format_html("{}", f"{len(value):,} entries")
    if isinstance(value, dict):
        return _dict(value, depth)
    if isinstance(value, (list, tuple)):
        return _list(list(value), key, depth)
    return _scalar(value, key)


@register.filter
def result_table(result: object) -> SafeString:
    """Render a job's result (any JSON) as nested tables: keys in words, numbers formatted,
    lists of records as tables with a column per field, files by their name only."""
    if result in (None, "", {}, []):
        return mark_safe("")
    return _value(result, "", 0)
