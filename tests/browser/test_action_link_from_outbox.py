"""Issue #6 end to end: a poll cycle sends the alert, the demo's outbox keeps it as an .eml, and
the owner opens its action links in Chromium, served by the app over HTTP, exactly as written
in the email (the config's action_base_url is the local server), and confirms."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.store import Store
from offline.demo import write_outbox
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.browser.conftest import Site, Watched, anchors, link_for, screenshot

pytestmark = pytest.mark.browser
PRAISE, COMPLAINT = "hackernews#201", "hackernews#202"


@pytest.fixture
def outbox_links(stack: LocalStack, site: Site, replay: ReplayServer, tmp_path: Path) -> list[tuple[str, str]]:
    """The (label, href) links of the HTML part of the one .eml the cycle left in the outbox."""
    now = int(time.time())
    replay.add_items("hackernews", [
        story_hit(201, now - 600, "Bean There's new Ethiopian single origin is lovely", author="ana", points=40),
        comment_hit(202, now - 300, "Bean There staff were rude and I want a refund", story_id=201,
                    story_title="Bean There's new Ethiopian single origin is lovely", author="rui"),
    ])
    assert site.parts.pipeline.run_cycle().deliveries == [("Maria", "email", "sent", 2)]
    paths, _ = write_outbox(stack, tmp_path / "outbox")
    (path,) = paths
    assert path.suffix == ".eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "Maria <maria@beanthere.example>"
    return anchors(str(message.get_body(("html",)).get_content()))


def confirm(page: Page, button: str) -> int:
    """Press the confirmation button; the status of the page the POST returned."""
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    return posted.value.status


def test_mark_as_handled_from_the_eml_changes_the_state_once(
    outbox_links: list[tuple[str, str]], site: Site, store: Store, contexts: Callable[..., Watched]
) -> None:
    handled = link_for(outbox_links, "Mark as handled", COMPLAINT)
    assert handled.startswith(f"{site.base_url}/a/")
    watched = contexts(viewport={"width": 375, "height": 800})
    page = watched.new_page()

    response = page.goto(handled)
    assert response is not None and response.status == 200
    screenshot(page, "outbox-handled-1-confirm")
    assert page.locator("h1").inner_text() == "Mark as handled?"
    assert "Bean There staff were rude and I want a refund" in page.locator("main").inner_text()
    assert "state: new" in page.locator("main").inner_text()
    stored = store.get_mention(COMPLAINT)
    assert stored is not None and stored.state == "new"  # opening the link (as mail scanners do) changes nothing

    assert confirm(page, "Mark as handled") == 200
    screenshot(page, "outbox-handled-2-done")
    assert page.locator("h1").inner_text() == "Marked as handled"
    assert "state: handled" in page.locator("main").inner_text()
    stored = store.get_mention(COMPLAINT)
    assert stored is not None and stored.state == "handled"
    assert [(e["action"], e["recipient"], e["result"]) for e in store.audit_log(COMPLAINT)] == [
        ("handled", "Maria", "done")]

    page.goto(handled)  # the same link again: it still shows, but it works once
    assert confirm(page, "Mark as handled") == 409
    screenshot(page, "outbox-handled-3-already-used")
    assert page.locator("h1").inner_text() == "This link was already used"
    assert len(store.audit_log(COMPLAINT)) == 1
    assert watched.external == [] and watched.dialogs == []


def test_snooze_from_the_eml_snoozes_the_mention_for_the_week_chosen(
    outbox_links: list[tuple[str, str]], store: Store, contexts: Callable[..., Watched]
) -> None:
    watched = contexts(viewport={"width": 375, "height": 800})
    page = watched.new_page()
    page.goto(link_for(outbox_links, "Snooze", PRAISE))
    assert page.locator("h1").inner_text() == "Snooze this mention?"
    assert page.get_by_label("1 day").is_checked()
    page.get_by_label("1 week").check()
    assert confirm(page, "Snooze") == 200
    screenshot(page, "outbox-snoozed")
    assert page.locator("h1").inner_text() == "Snoozed for 1 week"
    stored = store.get_mention(PRAISE)
    assert stored is not None and stored.state == "snoozed"
    other = store.get_mention(COMPLAINT)
    assert other is not None and other.state == "new"  # a link acts on its own mention only
    assert watched.external == [] and watched.dialogs == []
