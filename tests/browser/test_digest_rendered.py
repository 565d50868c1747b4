"""Issue #5: the daily digest, as the hourly run sent it through SES (moto), and its web view
served by the app, rendered in Chromium: the charts are HTML/CSS bars whose rendered lengths
follow the counts, on a phone and a desktop, in light and dark mode."""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from chalicelib.networks.hackernews.emulator import story_hit
from chalicelib.web.pages import SECURITY_HEADERS
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.browser.conftest import Site, Watched, low_contrast, overflow_x, screenshot

pytestmark = pytest.mark.browser
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")
LONG_WORD = "W" * 150
GROUPS = [("Brand", 4), ("Products", 0), ("Competitors", 2), ("Industry", 1)]
# The rows of the chart under an <h2>: label, the number shown, the filled length and the bar's full length (px).
CHART_ROWS = """heading => {
  const h2 = [...document.querySelectorAll('h2')].find(h => h.textContent.trim() === heading);
  return [...h2.nextElementSibling.rows].map(row => {
    const bar = row.cells[1].querySelector('table');
    const fills = [...bar.querySelectorAll('td.fill')].map(td => td.getBoundingClientRect().width);
    return {label: row.cells[0].textContent.trim(), shown: row.cells[2].textContent.trim(), fills,
            length: bar.getBoundingClientRect().width};
  });
}"""


@pytest.fixture
def digest_html(stack: LocalStack, site: Site, replay: ReplayServer) -> str:
    """The HTML part of the digest sent at 08:05 in Lisbon today after a cycle stored four brand
    mentions, two of the competitor and one of the industry (each matching one group only; its
    title ends in a word longer than a phone is wide)."""
    now = int(time.time())
    replay.add_items("hackernews", [
        story_hit(401, now - 900, "Bean There opened a second café", author="ana"),
        story_hit(402, now - 850, "Bean There roasts a new single origin from Huila", author="rui"),
        story_hit(403, now - 800, "Great flat white at Bean There today", author="lia"),
        story_hit(404, now - 750, "Bean There now delivers to Benfica", author="joao"),
        story_hit(405, now - 700, "Fabrica Coffee opens a new shop in Porto", author="eve"),
        story_hit(406, now - 650, "Fabrica Coffee raises its prices", author="tom"),
        story_hit(407, now - 600, f"Which grinder should I buy for espresso at home? {LONG_WORD}", author="zed"),
    ])
    assert site.parts.pipeline.run_cycle().new_mentions == 7
    eight = dt.datetime.combine(dt.datetime.now(LISBON).date(), dt.time(8, 5), tzinfo=LISBON)
    assert site.parts.digest.run(eight) == [("Maria", "sent")]
    (message,) = [m for m in stack.sent_emails() if str(m["Subject"]).startswith("Daily digest")]
    return str(message.get_body(("html",)).get_content())


def chart(page: Page, heading: str) -> list[dict[str, Any]]:
    return list(page.evaluate(CHART_ROWS, heading))


def assert_bars_follow_the_counts(page: Page) -> None:
    """Every chart's filled lengths against the numbers it shows (1 px and the 1% rounding of the
    whole-percent widths allowed)."""
    groups = chart(page, "By rule group")
    assert [(row["label"], row["shown"]) for row in groups] == [(label, str(n)) for label, n in GROUPS]
    for row, (_, count) in zip(groups, GROUPS, strict=True):
        assert sum(row["fills"]) == pytest.approx(row["length"] * count / 4, abs=1), row
    assert [len(row["fills"]) for row in groups] == [1, 0, 1, 1]  # nothing drawn for nothing counted

    voices = chart(page, "Share of voice")
    assert [(row["label"], row["shown"]) for row in voices] == [("Bean There Café", "67%"), ("Fabrica", "33%")]
    for row, count in zip(voices, [4, 2], strict=True):
        assert sum(row["fills"]) == pytest.approx(row["length"] * count / 6, abs=1 + row["length"] / 100), row

    (network,) = chart(page, "Top networks")
    assert (network["label"], network["shown"]) == ("Hacker News", "7")
    assert network["fills"] == [pytest.approx(network["length"], abs=1)]

    today = chart(page, "The last 7 days")[-1]  # oldest first: today is the busiest day, filling the chart
    assert today["shown"] == "7"
    expected = [today["length"] * n / 7 for n in (4, 2, 1)]  # brand, competitor, industry stacked
    assert today["fills"] == [pytest.approx(x, abs=1 + today["length"] / 100) for x in expected]

    legend = page.locator("p", has_text="positive").first.inner_text()
    counts = [int(n) for n in re.findall(r"(?:positive|neutral|negative) \d+% \((\d+)\)", legend)]
    assert sum(counts) == 7, legend
    sentiment = page.locator("p", has_text="Sentiment").first.evaluate(
        "p => [...p.nextElementSibling.querySelectorAll('td.fill')].map(td => td.getBoundingClientRect().width)")
    length = sum(sentiment)
    assert sentiment == [pytest.approx(length * n / 7, abs=1 + length / 100) for n in counts if n]


def test_digest_email_draws_bars_in_proportion_to_the_counts(
    digest_html: str, contexts: Callable[..., Watched]
) -> None:
    for width, scheme in [(600, "light"), (600, "dark"), (375, "light"), (375, "dark")]:
        view = f"{width}px-{scheme}"
        watched = contexts(viewport={"width": width, "height": 900}, color_scheme=scheme)
        page = watched.new_page()
        page.set_content(digest_html, wait_until="load")
        screenshot(page, f"digest-email-{view}")
        assert page.locator("p", has_text="new mentions: ").first.is_visible(), view
        assert_bars_follow_the_counts(page)
        assert overflow_x(page) == 0, view
        assert low_contrast(page) == [], view
        assert watched.external == [], view
        watched.context.close()


def test_digest_web_view_serves_the_same_charts_on_a_phone(
    digest_html: str, site: Site, contexts: Callable[..., Watched]
) -> None:
    link = re.search(r'<a href="([^"]+)"[^>]*>View this digest in your browser</a>', digest_html)
    assert link is not None and link.group(1).startswith(f"{site.base_url}/d/")
    heading = re.search(r"<h1[^>]*>([^<]+)</h1>", digest_html)
    assert heading is not None
    for scheme in ("light", "dark"):
        watched = contexts(viewport={"width": 375, "height": 800}, color_scheme=scheme)
        page = watched.new_page()
        response = page.goto(link.group(1))
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        screenshot(page, f"digest-web-view-375px-{scheme}")
        assert page.locator("h1").inner_text() == heading.group(1)
        assert_bars_follow_the_counts(page)
        assert page.locator("script").count() == 0
        assert page.evaluate("window.__violations") == []  # the page needs nothing its CSP forbids
        assert overflow_x(page) == 0, scheme
        assert low_contrast(page) == [], scheme
        assert watched.external == [], scheme
        watched.context.close()


def test_the_rendered_headline_names_the_charts_last_two_days_with_their_counts_and_the_zone(
    digest_html: str, contexts: Callable[..., Watched]
) -> None:
    """Issue #18: what the headline says of its days is what the chart draws for them, and the days
    and times say which zone they are in (Maria is in Lisbon)."""
    watched = contexts(viewport={"width": 375, "height": 800}, color_scheme="light")
    page = watched.new_page()
    page.set_content(digest_html, wait_until="load")
    rows = chart(page, "The last 7 days")
    zone = "Lisbon time"  # the digest's days are the recipient's own local days
    said = ", ".join(f"{row['shown']} on {row['label']}" for row in rows[-2:])
    headline = page.locator("p", has_text="new mentions: ").first.inner_text()
    assert headline.startswith(f"new mentions: {said} so far ({zone}) · "), headline
    assert sum(int(row["shown"]) for row in rows[-2:]) == 7  # the headline's total, all stored today
    footer = page.locator("td", has_text="You get this digest").last.inner_text()
    assert "Days and times are in your time zone: Lisbon time (Europe/Lisbon)." in footer
    assert page.locator("p.groups-note").count() == 0  # each mention matched one group: the groups add up to 7
    watched.context.close()
