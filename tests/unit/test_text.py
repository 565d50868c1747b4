from __future__ import annotations

from chalicelib.text import html_to_text


def test_tags_are_removed_and_entities_decoded() -> None:
    text = html_to_text("I <i>love</i> Bean There &amp; their caf&eacute; &#x1F600;")
    assert text == "I love Bean There & their café 😀"


def test_paragraphs_become_line_breaks() -> None:
    assert html_to_text("<p>First</p><p>Second<br>line</p>") == "First\n\nSecond\nline"


def test_script_and_style_contents_are_dropped() -> None:
    assert html_to_text("a<script>alert(1)</script>b<style>p{}</style>c") == "abc"


def test_links_keep_their_text_only() -> None:
    assert html_to_text('see <a href="javascript:alert(1)">this  post</a>') == "see this post"


def test_plain_text_is_returned_trimmed() -> None:
    assert html_to_text("  just text  ") == "just text"


def test_unclosed_tags_do_not_lose_text() -> None:
    assert html_to_text("<b>bold <i>and italic") == "bold and italic"
