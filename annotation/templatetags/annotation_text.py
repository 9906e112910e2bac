"""Template filters of the annotation app: markdown rendered safely, item text shown exactly."""

import nh3
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

register = template.Library()

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td",
    "a", "del", "sup", "sub",
}  # fmt: skip


@register.filter
def safe_markdown(text: str) -> str:
    """Render ``text`` (markdown, e.g. an LLM's answer) as HTML with every unsafe part removed.

    Raw HTML in the text is passed to nh3, which keeps only the allowed tags: no scripts, no
    event handlers, no images (they would call out), links open safely.
    """
    return mark_safe(_clean(_MARKDOWN.render(text or "")))  # noqa: S308 - cleaned by nh3


# CommonMark (fenced code included) with tables, for a researcher's instructions.
_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")
# CommonMark with raw HTML off: an item's "<T>", "<!-- note -->" or "<script>" is shown as text.
_ITEM_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("table")


def _clean(html: str) -> str:
    """Return ``html`` with only the allowed tags, and links of http(s) and mailto only."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@register.filter
def item_text(text: str, text_format: str = "plain") -> str:
    """Show an item's prompt or response exactly as imported.

    ``plain`` (the default): escaped, line breaks and spaces kept (``white-space: pre-wrap``).
    ``markdown`` (a project's choice): rendered, with any raw HTML in it shown as text, never
    dropped; links keep only http(s) and mailto.
    """
    if text_format != "markdown":
        return format_html('<div class="item-text plain">{}</div>', text or "")
    html = _clean(_ITEM_MARKDOWN.render(text or ""))
    return mark_safe(f'<div class="item-text markdown">{html}</div>')  # noqa: S308 - nh3 above
