"""Plain text out of the HTML that networks send, without trusting any of it.

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

import html as _html
import re

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
