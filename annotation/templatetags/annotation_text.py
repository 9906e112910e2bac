"""Template filters of the annotation app: markdown rendered safely, item text shown exactly."""

import markdown as markdown_lib
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

    Raw HTML in the text is escaped by markdown's renderer settings and then cleaned by nh3:
    no scripts, no event handlers, no images (they would call out), links open safely.
    """
    html = markdown_lib.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - cleaned by nh3 just above


# CommonMark with raw HTML off: an item's "<T>", "<!-- note -->" or "<script>" is shown as text.
_ITEM_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("table")


@register.filter
def item_text(text: str, text_format: str = "plain") -> str:
    """Show an item's prompt or response exactly as imported.

    ``plain`` (the default): escaped, line breaks and spaces kept (``white-space: pre-wrap``).
    ``markdown`` (a project's choice): rendered, with any raw HTML in it shown as text, never
    dropped; links keep only http(s) and mailto.
    """
    if text_format != "markdown":
        return format_html('<div class="item-text plain">{}</div>', text or "")
    html = nh3.clean(
        _ITEM_MARKDOWN.render(text or ""),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(f'<div class="item-text markdown">{html}</div>')  # noqa: S308 - nh3 above
