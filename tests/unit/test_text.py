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


def test_a_marked_section_fragment_is_markup_not_an_error() -> None:
    # "<![" followed by anything but a name made the stdlib parser raise AssertionError.
    assert html_to_text("before <![ after") == "before"
    assert html_to_text("a <![]> b") == "a b"
    assert html_to_text("x<![if !IE]>y<![endif]>z") == "xyz"
    assert html_to_text("<![CDATA[hidden]]>shown") == "shown"


def test_text_that_only_looks_like_markup_stays_text() -> None:
    assert html_to_text("1 < 2 &lt; 3 and <3 you") == "1 < 2 < 3 and <3 you"
    assert html_to_text("</>e and </ x>f") == "e and f"


def test_a_quoted_attribute_may_hold_a_closing_bracket() -> None:
    assert html_to_text('<a title="x>y" href=\'z>w\'>link</a> after') == "link after"
    assert html_to_text('<a b=x"y>t') == "t"


def test_raw_text_elements_end_only_at_their_own_end_tag() -> None:
    assert html_to_text("a<SCRIPT>if (a<b) {}</script >b<style>p>q{}</STYLE>c") == "abc"
    assert html_to_text("a<noscript><p>x</p></noscript>b") == "ab"


def test_markup_unfinished_at_the_end_is_dropped_and_text_before_it_kept() -> None:
    assert html_to_text("kept <a href=\"unfinished") == "kept"
    assert html_to_text("kept <!-- never closed") == "kept"
    assert html_to_text("kept<script>never closed") == "kept"


def test_comments_and_processing_instructions_are_dropped() -> None:
    assert html_to_text("<!-->a<!--->b<!-- c -->d<?php x ?>e") == "abde"


def test_hostile_fragments_of_450_kb_give_text() -> None:
    # Each of these took the stdlib parser quadratic time or raised; the answer is exact.
    for fragment in ("<a " * 150_000, "<![ " * 110_000, '<a b="' * 75_000, "<div>" * 90_000):
        assert html_to_text(fragment) == ""
    assert html_to_text("<p>x</p>" * 56_000) == "\n\n".join(["x"] * 56_000)
