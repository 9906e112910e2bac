"""A project's instructions are markdown: rendered with tables and code, never with scripts."""

from annotation.templatetags.annotation_text import safe_markdown


def test_instructions_render_emphasis_lists_tables_and_code():
    html = safe_markdown(
        "Label **every** value.\n\n1. one\n2. two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "```\nkeep <this>\n```"
    )
    assert "<strong>every</strong>" in html and "<ol>" in html and "<li>two</li>" in html
    assert "<td>2</td>" in html
    assert "<pre><code>keep &lt;this&gt;" in html


def test_instructions_lose_scripts_images_handlers_and_unsafe_links():
    html = safe_markdown(
        '<script>alert(1)</script>\n\n<b onclick="x()">bold</b> ![i](https://x.org/i.png) '
        "[bad](javascript:alert(1)) [ok](https://x.org)"
    )
    assert "<script" not in html and "alert(1)</" not in html and "onclick" not in html
    assert "<img" not in html and 'href="javascript' not in html
    assert '<a href="https://x.org" rel="noopener noreferrer nofollow">ok</a>' in html
    assert "<b>bold</b>" in html
