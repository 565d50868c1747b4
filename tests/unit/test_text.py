from __future__ import annotations

from chalicelib.text import excerpt, html_to_text, one_line, safe_url, shown_text


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


# ---------------------------------------------------------------- text fit to show


def test_shown_text_drops_control_and_direction_characters_but_keeps_line_breaks_and_tabs() -> None:
    assert shown_text("a\x1b[31mb\u202ec\u2066d\te\nf\x00") == "a[31mbcd\te\nf"


def test_one_line_folds_breaks_and_controls_and_cuts_with_an_ellipsis() -> None:
    assert one_line("Bean\n\tThere\u202e  Café\x07!") == "Bean There Café !"
    assert one_line("espresso " * 20, 20) == "espresso espresso e…"  # 19 characters and the ellipsis
    assert one_line("x" * 300, None) == "x" * 300


def test_safe_url_keeps_plain_http_links_only() -> None:
    assert safe_url("http://example.com/a?b=c") == "http://example.com/a?b=c"
    for url in ("javascript:alert(1)", "data:text/html,x", "https://x.example/ space", "//x.example", ""):
        assert safe_url(url) == "", url


def test_safe_url_refuses_a_link_that_ends_in_a_line_break() -> None:
    assert safe_url("https://x.example/\n") == ""


def test_an_excerpt_is_cut_around_the_first_match_and_marks_the_matches() -> None:
    text = "a" * 300 + " Bean There " + "b" * 300
    assert excerpt(text, [(301, 311)], limit=40) == [
        ("…", False), ("a" * 12 + " ", False), ("Bean There", True), (" " + "b" * 16, False), ("…", False)]
    assert excerpt("short \u202etext", []) == [("short text", False)]
