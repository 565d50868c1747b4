"""Signing in to the inbox in Chromium, on the local stack: the app served over HTTP on 127.0.0.1, the
magic link read from the email SES (moto) accepted. Sign-in, the same answer for an unknown address, a
link used twice or too late, session expiry, sign-out, sign-out everywhere, CSRF and cross-site refusals,
and the sign-in form's rate limit."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from chalicelib.runtime import runtime
from chalicelib.web.session import ADDRESS_REQUESTS, COOKIE_NAME, IDLE_SECONDS, LINK_SECONDS, WINDOW_SECONDS
from offline.stack import LocalStack
from tests.browser.conftest import Site, Watched, screenshot

pytestmark = pytest.mark.browser
MARIA = "maria@beanthere.example"


def links_to(stack: LocalStack, site: Site, address: str = MARIA) -> list[str]:
    """Every sign-in link SES accepted for ``address``, oldest first."""
    found = []
    for message in stack.sent_emails():
        if message["To"].addresses[0].addr_spec == address and str(message["Subject"]).startswith("Sign in to"):
            text = str(message.get_body(("plain",)).get_content())
            found += re.findall(rf"{re.escape(site.base_url)}/in/link/[A-Za-z0-9_-]{{43}}", text)
    return found


def ask_for_link(page: Page, site: Site, address: str = MARIA) -> int:
    """Fill the sign-in form and send it; the status of the answer."""
    page.goto(f"{site.base_url}/in/sign-in")
    page.get_by_label("Your email address").fill(address)
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_load_state()
    return answered.value.status


def confirm(page: Page, link: str) -> int:
    """Open a sign-in link and press its button; the status of the POST's answer."""
    opened = page.goto(link)
    assert opened is not None
    if opened.status != 200:
        return opened.status
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return posted.value.status


def signed_in(watched: Watched, stack: LocalStack, site: Site) -> Page:
    page = watched.new_page()
    assert ask_for_link(page, site) == 200
    assert confirm(page, links_to(stack, site)[-1]) == 303
    assert page.locator("main").inner_text().count("Signed in as Maria") == 1
    return page


def shifted(seconds: float) -> None:
    """The served app's clock (its store's and its sessions'), ``seconds`` ahead of now."""
    parts = runtime()
    parts.store.clock = parts.sessions.clock = lambda: time.time() + seconds


def test_sign_in_by_the_emailed_link_sets_a_strict_session_cookie(
        stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    watched = contexts(viewport={"width": 375, "height": 800})
    page = watched.new_page()
    assert ask_for_link(page, site) == 200
    screenshot(page, "signin-1-asked")
    assert page.locator("h1").inner_text() == "Check your email"
    (link,) = links_to(stack, site)
    opened = page.goto(link)
    assert opened is not None and opened.status == 200
    assert page.locator("h1").inner_text() == "Sign in?"
    assert watched.context.cookies() == []  # opening the link (as mail scanners do) signs no one in
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert posted.value.status == 303
    assert page.url == f"{site.base_url}/in/"
    screenshot(page, "signin-2-signed-in")
    assert "Signed in as Maria (maria@beanthere.example)" in page.locator("main").inner_text()
    (cookie,) = watched.context.cookies()
    assert (cookie["name"], cookie["path"], cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (
        COOKIE_NAME, "/", True, True, "Lax")
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
    assert watched.external == []


def test_an_unknown_address_gets_the_same_page_and_no_email(
        stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    page = contexts().new_page()
    assert ask_for_link(page, site, "mallory@evil.example") == 200
    unknown = page.locator("main").inner_text()
    assert ask_for_link(page, site) == 200
    assert page.locator("main").inner_text() == unknown.replace("mallory@evil.example", MARIA)
    assert len(links_to(stack, site)) == 1 and links_to(stack, site, "mallory@evil.example") == []
    assert len(stack.sent_emails()) == 1


def test_a_link_works_once(stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    page = signed_in(contexts(), stack, site)
    link = links_to(stack, site)[-1]
    other = contexts().new_page()  # a second browser with the same link: refused
    assert confirm(other, link) == 403
    assert other.locator("h1").inner_text() == "This sign-in link does not work"
    assert other.context.cookies() == []
    assert page.context.cookies() != []


def test_a_link_older_than_15_minutes_is_refused(stack: LocalStack, site: Site,
                                                 contexts: Callable[..., Watched]) -> None:
    page = contexts().new_page()
    assert ask_for_link(page, site) == 200
    shifted(LINK_SECONDS + 1)
    assert confirm(page, links_to(stack, site)[-1]) == 403
    assert page.context.cookies() == []


def test_a_session_unused_for_a_week_ends(stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    page = signed_in(contexts(), stack, site)
    shifted(IDLE_SECONDS + 1)
    page.goto(f"{site.base_url}/in/")
    assert page.locator("h1").inner_text() == "Sign in"
    assert page.get_by_label("Your email address").is_visible()


def test_sign_out_ends_the_session(stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    page = signed_in(contexts(), stack, site)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state()
    assert "You are signed out." in page.locator("main").inner_text()
    assert page.context.cookies() == []
    page.goto(f"{site.base_url}/in/")
    assert page.locator("h1").inner_text() == "Sign in"


def test_sign_out_everywhere_ends_the_other_browsers_session(stack: LocalStack, site: Site,
                                                             contexts: Callable[..., Watched]) -> None:
    phone = signed_in(contexts(viewport={"width": 375, "height": 800}), stack, site)
    laptop = signed_in(contexts(), stack, site)
    laptop.get_by_role("button", name="Sign out everywhere").click()
    laptop.wait_for_load_state()
    assert "You are signed out on every device." in laptop.locator("main").inner_text()
    phone.reload()
    assert phone.locator("h1").inner_text() == "Sign in"
    assert phone.context.cookies() != []  # the phone still holds its cookie: the session behind it is gone


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(
        stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    page = signed_in(contexts(), stack, site)
    for form in ({}, {"csrf": "x" * 43}):
        refused = page.request.post(f"{site.base_url}/in/sign-out-everywhere", form=form)
        assert refused.status == 403
    page.reload()
    assert "Signed in as Maria" in page.locator("main").inner_text()


def test_a_cross_site_post_is_refused(stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    watched = contexts()
    page = signed_in(watched, stack, site)
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    evil = (f'<form method="post" action="{site.base_url}/in/sign-out-everywhere">'
            f'<input type="hidden" name="csrf" value="{csrf}"><button>Win a prize</button></form>')
    watched.context.route("http://evil.example/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=evil))
    attack = watched.new_page()
    attack.goto("http://evil.example/")
    with attack.expect_response(lambda r: r.request.method == "POST") as posted:
        attack.get_by_role("button", name="Win a prize").click()
    assert posted.value.status == 403
    page.reload()
    assert "Signed in as Maria" in page.locator("main").inner_text()


def test_the_sixth_request_in_the_window_is_answered_the_same_and_sends_nothing(
        stack: LocalStack, site: Site, contexts: Callable[..., Watched]) -> None:
    page = contexts().new_page()
    window = int(time.time()) // WINDOW_SECONDS
    answers = set()
    for _ in range(ADDRESS_REQUESTS + 1):
        assert ask_for_link(page, site) == 200
        answers.add(page.locator("main").inner_text())
    crossed = int(time.time()) // WINDOW_SECONDS != window  # the six split over two windows: each sent
    assert len(answers) == 1
    assert len(links_to(stack, site)) == ADDRESS_REQUESTS + (1 if crossed else 0)
