"""Annotators see an item's text exactly as imported (and as exported)."""

import pytest

from annotation.templatetags.annotation_text import item_text
from tests.annotation.factories import ItemFactory, ProjectFactory

TRICKY = [
    ("In Java, List<T> is generic and Map<K, V> too.",
     "In Java, List&lt;T&gt; is generic and Map&lt;K, V&gt; too."),
    ("<!-- hidden note --> visible", "&lt;!-- hidden note --&gt; visible"),
    ("<script>alert('x')</script>", "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"),
    ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
]  # fmt: skip


@pytest.mark.parametrize("raw, shown", TRICKY)
def test_plain_text_is_escaped_never_dropped(raw, shown):
    html = item_text(raw)

    assert html == f'<div class="item-text plain">{shown}</div>'


def test_plain_text_keeps_line_breaks_and_indentation_for_pre_wrap():
    raw = "Human: hi\n\n    def f():\n        return 1\nBob: **not bold**"

    html = item_text(raw)

    assert "Human: hi\n\n    def f():\n        return 1\nBob: **not bold**" in html
    assert "<strong>" not in html


@pytest.mark.parametrize("raw, shown", TRICKY)
def test_markdown_when_the_project_opts_in_shows_raw_html_as_text(raw, shown):
    html = item_text(raw, "markdown")

    visible = shown.replace("&#x27;", "'")
    assert visible in html.replace("&#x27;", "'").replace("&quot;", '"')
    assert "<script" not in html and "<!--" not in html


def test_markdown_renders_emphasis_lists_and_safe_links_only():
    html = item_text(
        "**bold**\n\n- one\n- two\n\n[ok](https://x.org) [bad](javascript:alert(1))", "markdown"
    )

    assert "<strong>bold</strong>" in html and "<li>one</li>" in html
    assert 'href="https://x.org"' in html
    assert 'href="javascript' not in html and "[bad](javascript:alert(1))" in html


def test_the_labelling_page_shows_the_imported_text_exactly(alice_client, db):
    project = ProjectFactory(overlap=1, blind_share=0, gold_rate=0)
    ItemFactory(
        project=project,
        prompt="In Java, List<T> is generic and Map<K, V> too.",
        response="<!-- hidden note --> visible\n<script>x()</script>",
    )

    html = alice_client.get(f"/annotation/work/{project.pk}/").content.decode()

    assert "In Java, List&lt;T&gt; is generic and Map&lt;K, V&gt; too." in html
    assert "&lt;!-- hidden note --&gt; visible\n&lt;script&gt;x()&lt;/script&gt;" in html
