"""Issue #6: hostile mention text and author names, stored on the local stack, go through the
alert email and the action pages served by the app without ever running, and read literally.

The mentions are stored as a cycle that died before alerting would leave them (an open job
whose lease ran out), bypassing the connectors' own clean-up: the next cycle resumes the job
and sends the email, so only the templates stand between the text and the browser."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.store import Store
from chalicelib.web.pages import SECURITY_HEADERS
from offline.stack import LocalStack
from tests.browser.conftest import Site, Watched, anchors, link_for, overflow_x, screenshot

pytestmark = pytest.mark.browser
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
SVG = '"><svg onload=window.__pwned=1>'
JS_URL = "javascript:window.__pwned=1"
LONG_WORD = "W" * 5000
HN_KEY, MASTODON_KEY = "hackernews#666", "mastodon#109"


def hostile(network: str, native_id: str, title: str, text: str, *, handle: str, url: str) -> MatchedMention:
    mention = Mention(network, native_id, url, text, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5), title=title,
                      kind="comment", author_handle=handle, author_name=SVG, author_url=JS_URL, reach=3)
    start = mention.searchable_text.index("Bean There")
    return MatchedMention(mention, (RuleMatch("brand", "brand", False, ((start, start + len("Bean There")),)),))


@pytest.fixture
def hostile_email(stack: LocalStack, store: Store, site: Site) -> tuple[str, list[tuple[str, str]]]:
    """The HTML part of the alert for two hostile mentions, and its (label, href) links."""
    mentions = [
        hostile("hackernews", "666", f"Bean There {SCRIPT} \u202egnp.exe",
                f"Bean There {IMG} {SVG} {JS_URL} \u202edesrever {LONG_WORD} end", handle=SVG, url=JS_URL),
        hostile("mastodon", "109", "", f"Bean There </textarea>{SCRIPT}", handle=f"</textarea>{SCRIPT}",
                url="data:text/html,<script>alert(1)</script>"),
    ]
    store.store_new_mentions(mentions, "died-before-alerting", lease_seconds=-1)
    report = site.parts.pipeline.run_cycle()
    assert report.deliveries == [("Maria", "email", "sent", 2)]
    (message,) = stack.sent_emails()
    html = str(message.get_body(("html",)).get_content())
    return html, anchors(html)


def assert_nothing_ran(page: Page, watched: Watched) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watched.dialogs == []
    assert watched.external == []


def test_the_email_shows_hostile_text_literally_and_runs_none_of_it(
    hostile_email: tuple[str, list[tuple[str, str]]], contexts: Callable[..., Watched]
) -> None:
    html, links = hostile_email
    watched = contexts(viewport={"width": 375, "height": 900})
    page = watched.new_page()
    page.set_content(html, wait_until="load")
    screenshot(page, "hostile-email-375px")
    assert_nothing_ran(page, watched)
    assert page.locator("script, img, svg, textarea").count() == 0
    shown = page.locator("body").inner_text()
    for literal in (IMG, SVG, JS_URL, f"</textarea>{SCRIPT}"):
        assert literal in shown
    # Titles and author names lose direction overrides (they could disguise "exe.png" as "gnp.exe").
    assert page.get_by_text(f"Bean There {SCRIPT} gnp.exe", exact=True).is_visible()
    assert "\u202e" not in page.locator("p", has_text="comment by").first.inner_text()
    hrefs = [href for _, href in links]
    assert all(href == "" or href.startswith("http://127.0.0.1:") for href in hrefs), hrefs  # no javascript:/data:
    assert overflow_x(page) == 0  # a 5000-letter word wraps instead of widening the email


def test_action_pages_show_hostile_text_literally_under_a_csp_with_nothing_inline(
    hostile_email: tuple[str, list[tuple[str, str]]], contexts: Callable[..., Watched]
) -> None:
    _, links = hostile_email
    watched = contexts(viewport={"width": 375, "height": 900})
    page = watched.new_page()
    pages = [("hostile-confirm-handled", link_for(links, "Mark as handled", HN_KEY)),
             ("hostile-reply-manual", link_for(links, "Reply", HN_KEY)),
             ("hostile-reply-composer", link_for(links, "Reply", MASTODON_KEY))]
    for name, url in pages:
        response = page.goto(url)
        assert response is not None and response.status == 200, name
        assert response.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        assert "script-src" not in SECURITY_HEADERS["Content-Security-Policy"]  # default-src 'none' forbids all
        screenshot(page, f"{name}-375px")
        assert_nothing_ran(page, watched)
        assert page.locator("script").count() == 0, name  # nothing inline to block in the first place
        assert page.evaluate("window.__violations") == [], name
        assert page.locator("img, svg").count() == 0, name
        assert overflow_x(page) == 0, name
        assert not [href for href in page.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
                    if not re.match(r"https?://", href)], name

    # The served CSP itself refuses inline script: one injected now is blocked and reported.
    injected = "() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';" \
               " document.body.append(s); return typeof window.__inline; }"
    assert page.evaluate(injected) == "undefined"
    assert page.evaluate("window.__violations") == ["script-src-elem inline"]
    assert page.evaluate("document.querySelectorAll('script').length") == 1  # only the one injected
    page.reload()

    shown = page.locator("main").inner_text()  # the composer of the Mastodon mention
    assert f"Bean There </textarea>{SCRIPT}" in shown
    draft = page.locator("textarea[name=text]").input_value()
    assert draft == f"Hi {SVG}, thanks for mentioning Bean There Café!"  # greeted by name, shown literally
    assert page.get_by_role("button", name="Post the reply").is_visible()

    page.goto(link_for(links, "Mark as handled", HN_KEY))
    shown = page.locator("main").inner_text()
    for literal in (IMG, SVG, JS_URL, "state: new"):
        assert literal in shown
    assert page.get_by_text(f"Bean There {SCRIPT} gnp.exe", exact=True).is_visible()
    assert watched.external == []


def test_the_confirmation_form_works_with_javascript_disabled(
    hostile_email: tuple[str, list[tuple[str, str]]], contexts: Callable[..., Watched], store: Store
) -> None:
    _, links = hostile_email
    watched = contexts(viewport={"width": 375, "height": 900}, java_script_enabled=False)
    page = watched.new_page()
    page.goto(link_for(links, "Mark as handled", HN_KEY))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Mark as handled").click()
    assert posted.value.status == 200
    page.wait_for_load_state()
    screenshot(page, "hostile-handled-no-javascript-375px")
    assert page.locator("h1").inner_text() == "Marked as handled"
    assert "state: handled" in page.locator("main").inner_text()
    assert IMG in page.locator("main").inner_text()
    stored = store.get_mention(HN_KEY)
    assert stored is not None and stored.state == "handled"
    assert watched.external == [] and watched.dialogs == []
