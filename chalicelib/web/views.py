"""What the pages show of a mention, and the words of their recurring messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.web.pages import Page, render

if TYPE_CHECKING:
    from chalicelib.model import StoredMention


def mention_view(stored: StoredMention) -> dict[str, str]:
    """The mention as a page shows it: one-line names, its text cut at 1,000 characters with
    direction controls made harmless, and its URL only if it is a safe http(s) link."""
    from chalicelib.alerts import network_name
    from chalicelib.text import one_line, safe_url, shown_text

    m = stored.item.mention
    return {
        "network": network_name(m.network),
        "kind": m.kind,
        "author": one_line(m.author_name or m.author_handle or "someone", 60),
        "state": stored.state,
        "title": one_line(m.title, 200),
        "text": shown_text(m.text[:1000]) + ("…" if len(m.text) > 1000 else ""),
        "url": safe_url(m.url),
    }


def reply_link_used(stored: StoredMention) -> Page:
    return render(409, "This link was already used", mention=mention_view(stored),
                  message="A Reply link posts one reply. Open the latest alert email for a fresh link.")


def removed(count: int) -> str:
    """How many past mentions an exclusion would have removed, said for its button."""
    if count == 0:
        return "would have removed no other mention this week"
    return (f"would have removed {count} other {'mention' if count == 1 else 'mentions'} this week, "
            f"{'it' if count == 1 else 'each'} marked not relevant")
