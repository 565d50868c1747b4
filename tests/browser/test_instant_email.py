"""Issue #5: the instant alert email, exactly as the poll cycle sent it through SES (moto),
rendered in Chromium at a desktop (600 px) and a phone (375 px) width, in light and dark mode."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.browser.conftest import Site, Watched, low_contrast, overflow_x, screenshot

pytestmark = pytest.mark.browser
ACTION_LABELS = ["Reply", "Mark as handled", "Snooze", "Mute this author", "Not relevant"]
COMPLAINT = "I asked Bean There for a refund and they were rude"


@pytest.fixture
def alert_html(stack: LocalStack, site: Site, replay: ReplayServer) -> str:
    """The HTML part of the one email a poll cycle sent for a story and an urgent complaint."""
    now = int(time.time())
    replay.add_items("hackernews", [
        story_hit(101, now - 600, "Bean There opened a second café in Príncipe Real", author="ana", points=12),
        comment_hit(102, now - 300, COMPLAINT, story_id=101, story_title="Bean There opened a second café",
                    author="rui"),
    ])
    report = site.parts.pipeline.run_cycle()
    assert report.deliveries == [("Maria", "email", "sent", 2)]
    (message,) = stack.sent_emails()
    assert message["Subject"] == "URGENT (1): 2 new mentions of Bean There Café"
    return str(message.get_body(("html",)).get_content())


VIEWS = [(600, "light"), (600, "dark"), (375, "light"), (375, "dark")]  # desktop and phone widths


def test_instant_email_shows_the_mentions_highlighted_with_their_action_links(
    alert_html: str, site: Site, contexts: Callable[..., Watched]
) -> None:
    for width, scheme in VIEWS:
        view = f"{width}px-{scheme}"
        watched = contexts(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = watched.new_page()
        page.set_content(alert_html, wait_until="load")
        screenshot(page, f"instant-email-{view}")

        assert page.locator("h1").inner_text() == "URGENT (1): 2 new mentions of Bean There Café"
        complaint = page.locator("p", has_text=COMPLAINT)
        assert complaint.count() == 1 and complaint.is_visible(), view
        assert page.get_by_text("Bean There opened a second café in Príncipe Real").is_visible(), view
        marks = complaint.locator("mark")
        assert marks.all_inner_texts() == ["Bean There", "refund", "rude"]
        highlight, paper = marks.first.evaluate(
            "m => [getComputedStyle(m).backgroundColor, getComputedStyle(m.closest('table')).backgroundColor]")
        card = "rgb(24, 24, 27)" if scheme == "dark" else "rgb(255, 255, 255)"  # dark mode has its own paper
        assert (highlight, paper) == ("rgb(253, 230, 138)", card), view

        links = page.locator("a").evaluate_all("as => as.map(a => [a.textContent.trim(), a.getAttribute('href')])")
        actions = [(label, href) for label, href in links if label in ACTION_LABELS]
        assert [label for label, _ in actions] == ACTION_LABELS * 2  # both mentions, in the owner's order
        token = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
        assert all(re.fullmatch(rf"{re.escape(site.base_url)}/a/{token}", href) for _, href in actions), actions
        assert len({href for _, href in actions}) == 10  # one signed link per action and mention
        assert ["Open on Hacker News", "https://news.ycombinator.com/item?id=102"] in links
        assert any(label == "Unsubscribe" and re.fullmatch(rf"{re.escape(site.base_url)}/u/{token}", href)
                   for label, href in links)
        for label in ACTION_LABELS:
            assert page.get_by_role("link", name=label, exact=True).first.is_visible(), (view, label)

        assert overflow_x(page) == 0, view  # no horizontal scroll, also on a phone
        assert low_contrast(page) == [], view  # every text readable in this colour scheme
        assert watched.external == [], view  # no remote image, font or tracker: nothing left 127.0.0.1
        watched.context.close()
