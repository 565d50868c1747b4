"""Text shaping, in one place: plain text out of the HTML and Markdown that networks send, and
text fit to show (one line, several lines, an excerpt, a link) without trusting any of it.

``html_to_text`` reads markup the way the HTML5 tokenizer does for the parts that matter to
text (tags, comments, bogus comments such as ``<![...>``, raw-text elements, character
references), in one pass: every step moves forward, nothing is scanned twice, so its time is
linear in the input whatever the input holds. It never builds a tree: a tree builder is what
makes hostile fragments slow, and text needs no tree. The stdlib's ``HTMLParser`` rescans
unfinished tags (quadratic: 40,000 characters of ``<a `` took 19-39 s); selectolax (lexbor,
a 1.5 MB wheel that would fit the Lambda) builds an HTML5 tree whose open-element checks are
quadratic in nesting depth (400 KB of ``<div>`` took 9.2 s here), so no library was taken.
"""

from __future__ import annotations

import functools
import html as _html
import re
from typing import Any

_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5",
                         "h6", "tr", "hr", "table", "section", "article", "header", "footer", "dd", "dt", "dl"})
# Elements whose content is not text to show: raw text (script, style...) and templates.
_DROPPED_TAGS = frozenset({"script", "style", "template", "noscript", "xmp", "iframe", "noembed", "noframes"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_TAG_NAME = re.compile(r"[A-Za-z][^\t\n\f\r />]*")
_ATTRIBUTE_RUN = re.compile(r"[^>\"'=]*")  # anything in a tag up to its end, a quote or an '='
_SPACE_RUN = re.compile(r"[\t\n\f\r ]*")
_DROPPED_END = {name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE) for name in _DROPPED_TAGS}


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment: tags removed, entities decoded, script and style
    contents dropped, paragraphs kept as line breaks, runs of spaces folded. Any input gives
    a string (an unfinished tag or comment at the end is dropped, as a browser does); time is
    linear in the input."""
    if "<" not in html and "&" not in html:
        return html.strip()
    parts: list[str] = []
    size = len(html)
    i = 0
    while i < size:
        lt = html.find("<", i)
        if lt < 0:
            parts.append(_html.unescape(html[i:]))
            break
        if lt > i:
            parts.append(_html.unescape(html[i:lt]))
        i = _markup(html, lt, parts)
    text = "".join(parts).replace("\xa0", " ").replace("\x00", "")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _markup(html: str, lt: int, parts: list[str]) -> int:
    """Read the markup that starts with the ``<`` at ``lt``; return where text goes on."""
    size = len(html)
    following = html[lt + 1:lt + 2]
    if following == "!":
        if html.startswith("<!--", lt):
            if html.startswith(("<!-->", "<!--->"), lt):
                return html.find(">", lt) + 1
            end = html.find("-->", lt + 4)
            return size if end < 0 else end + 3
        return _bogus_comment(html, lt)  # <!DOCTYPE>, <![CDATA[...]]>, <![if ...]>, <![ anything
    if following == "?":
        return _bogus_comment(html, lt)
    closing = following == "/"
    name_match = _TAG_NAME.match(html, lt + 2 if closing else lt + 1)
    if name_match is None:
        if closing:  # "</>" is nothing; "</ x>" or "</3" a bogus comment
            return lt + 3 if html.startswith("</>", lt) else _bogus_comment(html, lt)
        parts.append("<")  # "a < b", "<3": text
        return lt + 1
    end = _tag_end(html, name_match.end())
    if end >= size:
        return size  # a tag unfinished at the end of the input is dropped
    name = name_match.group().lower()
    if name in _BLOCK_TAGS:
        parts.append("\n")
    elif name in _DROPPED_TAGS and not closing:
        close = _DROPPED_END[name].search(html, end)
        return size if close is None else _tag_end(html, close.end() - 1)
    return end


def _tag_end(html: str, i: int) -> int:
    """Index just past the ``>`` that ends the tag whose attributes start at ``i`` (quoted
    attribute values may hold ``>``), or ``len(html)`` when the input ends first."""
    size = len(html)
    while True:
        i = _ATTRIBUTE_RUN.match(html, i).end()
        if i >= size:
            return size
        char = html[i]
        if char == ">":
            return i + 1
        if char == "=":
            i = _SPACE_RUN.match(html, i + 1).end()
            if i < size and html[i] in "\"'":
                close = html.find(html[i], i + 1)
                if close < 0:
                    return size
                i = close + 1
            continue
        i += 1  # a quote that does not open a value is part of a name


def _bogus_comment(html: str, lt: int) -> int:
    end = html.find(">", lt + 1)
    return len(html) if end < 0 else end + 1


@functools.cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # CommonMark with GitHub's tables and strikethrough; raw HTML passes to html_to_text, which drops the tags.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def markdown_to_text(markdown: str) -> str:
    """Visible text of GitHub-flavoured Markdown (an issue or discussion body), as the page
    shows it: "**Bean** [site](https://x)" -> "Bean site". Parsed by markdown-it-py; its tokens
    are read here: list items as "- " lines, table cells joined by " | ", code as written, an
    image as its alt text, HTML (inline or block) through ``html_to_text``."""
    if not markdown.strip():
        return ""
    parts: list[str] = []
    for token in _markdown().parse(markdown):
        kind = token.type
        if kind == "inline":
            parts.append(_inline_text(token.children or []))
        elif kind in ("fence", "code_block"):
            parts.append(token.content.rstrip("\n") + "\n\n")
        elif kind == "html_block":
            parts.append(html_to_text(token.content) + "\n\n")
        elif kind == "list_item_open":  # an ordered item's number is in ``info``, its "." or ")" in ``markup``
            parts.append(f"{token.info}{token.markup} " if token.info else "- ")
        elif kind in ("paragraph_close", "heading_close"):
            parts.append("\n" if token.hidden else "\n\n")  # hidden: a tight list's item
        elif kind in ("th_close", "td_close"):
            parts.append(" | ")
        elif kind == "tr_close":
            parts[-1:] = ["\n"] if parts and parts[-1] == " | " else [*parts[-1:], "\n"]
        elif kind in ("table_close", "bullet_list_close", "ordered_list_close", "hr"):
            parts.append("\n")
    lines = (line.rstrip() for line in "".join(parts).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_DROPPED_INLINE = re.compile(r"<(/?)(script|style|template|noscript)\b", re.IGNORECASE)


def _inline_text(children: list[Any]) -> str:
    out: list[str] = []
    dropping = 0
    for child in children:
        if child.type == "html_inline" and (tag := _DROPPED_INLINE.match(child.content)):
            dropping = max(0, dropping - 1) if tag.group(1) else dropping + 1
        elif dropping:
            continue
        elif child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type == "softbreak":
            out.append(" ")
        elif child.type == "hardbreak":
            out.append("\n")
        elif child.type == "image":
            out.append(_inline_text(child.children or []))
        elif child.type == "html_inline":
            out.append(html_to_text(child.content) if not child.content.startswith("<") else "")
    return _SPACES.sub(" ", "".join(out))


# ---------------------------------------------------------------- text fit to show

DIRECTION_CONTROLS = "\u202a-\u202e\u2066-\u2069"  # overrides and isolates, as a character-class range
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{DIRECTION_CONTROLS}]")
_UNSHOWABLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{DIRECTION_CONTROLS}]")
_SHOWN_CHARS = 60  # of a value quoted in a message
_HTTP_URL = re.compile(r"https?://[^\s<>\"']+")  # used with fullmatch: '$' would accept a trailing newline


def shown_text(text: str) -> str:
    """Text fit to show on several lines: without direction controls (a U+202E shows the rest of a
    paragraph reversed and can disguise a link's text) and without control characters but line
    breaks and tabs (a terminal mail reader would obey an ESC sequence)."""
    return _UNSHOWABLE.sub("", text)


def one_line(text: str, limit: int | None = 120) -> str:
    """Text fit for a header or a title: control and direction characters removed, runs of spaces
    and line breaks folded to one space, cut to ``limit`` characters with "…" (None: never cut)."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if limit is None or len(text) <= limit else text[: limit - 1].rstrip() + "…"


def shown(value: object) -> str:
    """``value`` quoted for an error message, cut to a few dozen characters (a file or a variable
    may hold anything): ``'abc'``, or ``'abc…'… (600 characters)``."""
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return f"{value[:_SHOWN_CHARS]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS + 2 else f"{text[:_SHOWN_CHARS]}… ({len(text)} characters)"


def stars(rating: int | None, *, plain: bool = False) -> str:
    """A review's stars as the owner sees them: 1 -> "★☆☆☆☆"; ``plain``: "1/5 stars" (GSM-7, so an
    SMS keeps its 160 characters); "" for no rating or one outside 1-5."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        return ""
    return f"{rating}/5 stars" if plain else "★" * rating + "☆" * (5 - rating)


def safe_url(url: str) -> str:
    """The URL if it is plain http(s), else empty (never a javascript: or data: link)."""
    return url if _HTTP_URL.fullmatch(url) else ""


def excerpt(text: str, spans: list[tuple[int, int]], limit: int = 400) -> list[tuple[str, bool]]:
    """Text cut to about ``limit`` characters around the first match, as (segment,
    highlighted) pairs for templates to escape and mark up."""
    spans = sorted((s, e) for s, e in spans if 0 <= s < e <= len(text))
    start = 0
    if len(text) > limit and spans and spans[0][0] > limit // 3:
        start = spans[0][0] - limit // 3
    end = min(len(text), start + limit)
    segments: list[tuple[str, bool]] = []
    position = start
    for s, e in spans:
        s, e = max(s, position), min(e, end)
        if s >= e:
            continue
        if s > position:
            segments.append((text[position:s], False))
        segments.append((text[s:e], True))
        position = e
    if position < end:
        segments.append((text[position:end], False))
    segments = [(clean, marked) for segment, marked in segments if (clean := shown_text(segment))]
    if start > 0:
        segments.insert(0, ("…", False))
    if end < len(text):
        segments.append(("…", False))
    return segments
