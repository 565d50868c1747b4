"""Plain text out of the HTML that networks send, without trusting any of it."""

from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from typing import Any

_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4", "tr"})
_DROPPED_TAGS = frozenset({"script", "style", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_TAGS:
            self._dropping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_TAGS:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment: tags removed, entities decoded, script and style
    contents dropped, paragraphs kept as line breaks, runs of spaces folded."""
    if "<" not in html and "&" not in html:
        return html.strip()
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    text = "".join(extractor.parts).replace("\xa0", " ")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


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
