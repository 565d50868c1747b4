"""The inbox in Chromium, on the local stack, signed in by the emailed link: filtering, a bulk
action, a reply from the mention page (the draft to copy, and one posted through GitHub's API on the
replay server, exactly once), and an accessibility check of every inbox page with axe-core
(node_modules/axe-core, pinned in package.json) printing ``axe_serious_violations``."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from chalicelib.config import parse_config
from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.networks.github.emulator import issue
from chalicelib.runtime import build, runtime
from chalicelib.store import Store
from chalicelib.triage import Triage
from chalicelib.web.inbox import encode_key
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.browser.conftest import ROOT, Site, Watched, low_contrast, overflow_x, screenshot
from tests.browser.test_signin import signed_in
from tests.conftest import SIGNING_KEY

pytestmark = pytest.mark.browser
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def matched(native_id: str, text: str, *, opportunity: bool = False, priority: int = 40, rule: str = "brand",
            group: str = "brand", sentiment: str = "neutral") -> MatchedMention:
    m = Mention("hackernews", native_id, f"https://news.ycombinator.com/item?id={native_id}", text,
                dt.datetime.now(dt.UTC), author_handle=f"user{native_id}", author_name=f"Ana {native_id}")
    triage = Triage(0.0, sentiment, frozenset({"question"} if opportunity else ()), priority, (),  # type: ignore[arg-type]
                    opportunity)
    return MatchedMention(m, (RuleMatch(rule, group, False),), triage)  # type: ignore[arg-type]


def seeded(store: Store) -> None:
    store.store_new_mentions([
        matched("1", "Does Bean There open on Sundays?", opportunity=True, priority=70),
        matched("2", "Bean There latte was great", sentiment="positive"),
        matched("3", "Fabrica Coffee beats everyone", rule="Fabrica", group="competitor"),
        matched("4", "Bean There was rude to me", sentiment="negative", priority=85),
    ], "job-seed", 0)


def rows(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("main .card.row a").all_inner_texts()]


def test_filters_narrow_the_inbox_to_exactly_the_chosen_mentions(
        stack: LocalStack, site: Site, store: Store, contexts: Callable[..., Watched]) -> None:
    seeded(store)
    page = signed_in(contexts(viewport={"width": 375, "height": 800}), stack, site)
    assert rows(page) == ["Does Bean There open on Sundays?", "Bean There was rude to me",
                          "Bean There latte was great", "Fabrica Coffee beats everyone"]
    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Rule group").select_option("competitor")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()
    assert "group=competitor" in page.url
    assert rows(page) == ["Fabrica Coffee beats everyone"]
    page.goto(f"{site.base_url}/in/?sentiment=negative")
    assert rows(page) == ["Bean There was rude to me"]
    page.goto(f"{site.base_url}/in/?q=SUNDAYS")
    assert rows(page) == ["Does Bean There open on Sundays?"]
    screenshot(page, "inbox-1-search")
    bad = page.goto(f"{site.base_url}/in/?state=finished")
    assert bad is not None and bad.status == 400
    assert "state: 'finished' is not one of open, new" in page.locator("main").inner_text()
    assert page.evaluate("window.__violations") == []


def test_a_bulk_action_marks_the_checked_mentions_handled(
        stack: LocalStack, site: Site, store: Store, contexts: Callable[..., Watched]) -> None:
    seeded(store)
    page = signed_in(contexts(), stack, site)
    page.get_by_label("Select: Bean There latte was great").check()
    page.get_by_label("Select: Fabrica Coffee beats everyone").check()
    page.get_by_label("With the checked mentions").select_option("handled")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Do it").click()
    page.wait_for_load_state()
    assert posted.value.status == 200
    assert page.locator("h1").inner_text() == "Mark handled: done"
    states = {k: m.state for k, m in store.get_mentions([f"hackernews#{n}" for n in range(1, 5)]).items()}
    assert states == {"hackernews#1": "new", "hackernews#2": "handled", "hackernews#3": "handled",
                      "hackernews#4": "new"}
    assert [a["recipient"] for a in store.audit_log("hackernews#2")] == ["Maria"]
    page.goto(f"{site.base_url}/in/?state=handled")
    assert sorted(rows(page)) == ["Bean There latte was great", "Fabrica Coffee beats everyone"]


def test_a_bulk_post_without_the_sessions_csrf_token_changes_nothing(
        stack: LocalStack, site: Site, store: Store, contexts: Callable[..., Watched]) -> None:
    seeded(store)
    page = signed_in(contexts(), stack, site)
    refused = page.request.post(f"{site.base_url}/in/bulk",
                                form={"action": "handled", "m": encode_key("hackernews#2")})
    assert refused.status == 403
    assert store.get_mention("hackernews#2").state == "new"  # type: ignore[union-attr]


def test_the_mention_page_replies_and_acts_and_shows_the_activity(
        stack: LocalStack, site: Site, store: Store, contexts: Callable[..., Watched]) -> None:
    seeded(store)
    page = signed_in(contexts(viewport={"width": 375, "height": 800}), stack, site)
    page.get_by_role("link", name="Does Bean There open on Sundays?").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/in/m/{encode_key('hackernews#1')}")
    assert "Nothing done yet." in page.locator("main").inner_text()
    mention_url = page.url
    page.get_by_role("link", name="open the draft to copy").click()  # Hacker News has no reply API
    page.wait_for_load_state()
    assert "Hi Ana 1, happy to help with that:" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Open the thread to reply").get_attribute("href") == \
        "https://news.ycombinator.com/item?id=1"
    page.goto(mention_url)
    page.get_by_role("link", name="Mark as handled").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Mark as handled").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Marked as handled"
    page.goto(mention_url)
    assert re.search(r"handled\s+Maria\s+done", page.locator("table").inner_text())
    screenshot(page, "inbox-2-mention")


GITHUB_TOKEN = "/social-listening/test/github-token"


@pytest.fixture
def github_site(site: Site, stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path) -> Site:
    """The site with GitHub on the replay server as well: its replier posts comments through GitHub's API."""
    stack.client("ssm").put_parameter(Name=GITHUB_TOKEN, Value="ghp_test", Type="SecureString", Overwrite=True)
    replay.apis["github"].posted.clear()  # type: ignore[attr-defined]
    path = tmp_path / "listen.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "networks:\n", f"networks:\n  github:\n    base_url: {replay.base_url('github')}\n"
        f"    token_parameter: {GITHUB_TOKEN}\n", 1)
    path.write_text(text, encoding="utf-8")
    config = parse_config(text, str(path))
    runtime.cache_clear()
    runtime()  # the served app, warm with GitHub too (the site fixture clears it after the test)
    return Site(site.base_url, config, build(config, store, signing_key=SIGNING_KEY.encode(), clock=store.clock))


def test_a_reply_edited_in_the_inbox_composer_is_posted_through_githubs_api_once(
        stack: LocalStack, github_site: Site, store: Store, replay: ReplayServer,
        contexts: Callable[..., Watched]) -> None:
    site = github_site
    replay.add_items("github", [issue(5_000_077, 12, "beanthere/shop", int(time.time()) - 60,
                                      "Bean There charged me twice", "I want a refund now", login="ines-d")])
    assert site.parts.pipeline.run_cycle().new_mentions == 1
    watched = contexts(viewport={"width": 375, "height": 800})
    page = signed_in(watched, stack, site)
    page.get_by_role("link", name="Bean There charged me twice").click()
    page.wait_for_load_state()
    mention_url = page.url
    assert mention_url.endswith(f"/in/m/{encode_key('github#5000077')}")
    composer = page.get_by_label("Your reply")
    assert composer.input_value().startswith("Hi ines-d, ")  # the draft, by name
    text = "Sorry about that, Inês: the second charge is refunded today 🙏"
    composer.fill(text)
    form = page.locator("form", has=composer)
    fields = {name: form.locator(f"input[name={name}]").get_attribute("value") or "" for name in ("key", "csrf")}
    action = form.get_attribute("action") or ""
    with page.expect_response(lambda r: r.request.method == "POST") as answered:
        page.get_by_role("button", name="Post the reply").click()
    page.wait_for_load_state()
    assert answered.value.status == 200 and page.locator("h1").inner_text() == "Reply posted"
    posted = replay.apis["github"].posted  # type: ignore[attr-defined]
    assert [(p["body"], p["issue_url"].rsplit("/repos/", 1)[1]) for p in posted] == [
        (text, "beanthere/shop/issues/12")]  # exactly the edited text, on that issue
    again = page.request.post(f"{site.base_url}{action}", form={**fields, "text": text},
                              headers={"Origin": site.base_url})  # the same form sent a second time
    assert again.status == 200 and "<h1>Reply already posted</h1>" in again.text()
    assert len(posted) == 1
    page.goto(mention_url)
    shown = page.locator("main").inner_text()
    assert "state: handled" in shown
    assert re.search(r"reply\s+Maria\s+posted", page.locator("table").inner_text())
    assert store.get_mention("github#5000077").state == "handled"  # type: ignore[union-attr]
    assert [(a["action"], a["result"]) for a in store.audit_log("github#5000077")] == [("reply", "posted")]
    assert watched.external == [] and page.evaluate("window.__violations") == []
    screenshot(page, "inbox-3-replied")


def test_every_inbox_page_has_no_serious_accessibility_violation(
        stack: LocalStack, site: Site, store: Store, contexts: Callable[..., Watched]) -> None:
    assert AXE.is_file(), "axe-core is missing: `make browser-deps` installs it (npm ci, pinned in package.json)"
    seeded(store)
    store.claim_delivery("job-seed", "Maria", "email", ["hackernews#1", "hackernews#4"])
    store.finish_delivery("job-seed", "Maria", "email", "failed", detail="SES refused the address")
    found: dict[str, list[str]] = {}
    for scheme in ("light", "dark"):
        watched = contexts(color_scheme=scheme, bypass_csp=True)  # axe is injected: the pages' CSP allows no script
        page = signed_in(watched, stack, site)
        for path in ("/in/", f"/in/m/{encode_key('hackernews#1')}", "/in/rules", "/in/health", "/in/deliveries"):
            page.goto(f"{site.base_url}{path}")
            page.add_script_tag(content=Path(AXE).read_text(encoding="utf-8"))
            result = page.evaluate("""async () => { const r = await axe.run(document);
                return {passes: r.passes.length, serious: r.violations
                  .filter(v => v.impact === 'serious' || v.impact === 'critical')
                  .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))}; }""")
            assert result["passes"] >= 10, f"axe checked little on {path}: {result}"  # it ran, on a real page
            found[f"{scheme} {path}"] = result["serious"]
    serious = sum(len(v) for v in found.values())
    print(f"axe_serious_violations: {serious}")
    assert {k: v for k, v in found.items() if v} == {}


def test_every_inbox_page_fits_a_phone_and_reads_in_light_and_dark(
        stack: LocalStack, site: Site, store: Store, contexts: Callable[..., Watched]) -> None:
    seeded(store)
    store.claim_delivery("job-seed", "Maria", "email", ["hackernews#1", "hackernews#4"])
    store.finish_delivery("job-seed", "Maria", "email", "failed", detail="SES refused the address")
    today = dt.datetime.now(dt.UTC).date()
    first, last = today - dt.timedelta(days=1), today + dt.timedelta(days=1)  # Lisbon's today, whatever the hour
    paths = ("/in/", f"/in/m/{encode_key('hackernews#1')}", "/in/rules", "/in/health", "/in/deliveries",
             f"/in/?from={first}&to={last}&tz=Europe%2FLisbon&section=to_answer",  # a digest section's link
             "/in/?job=job-seed&for=Maria&channel=email")  # an undelivered alert's
    for scheme in ("light", "dark"):
        watched = contexts(viewport={"width": 375, "height": 800}, color_scheme=scheme)
        page = signed_in(watched, stack, site)
        for path in paths:
            response = page.goto(f"{site.base_url}{path}")
            assert response is not None and response.status == 200, path
            assert overflow_x(page) == 0, f"{scheme} {path}"
            assert low_contrast(page) == [], f"{scheme} {path}"
            assert page.locator("script").count() == 0 and page.evaluate("window.__violations") == []
        assert watched.external == []
    page.goto(f"{site.base_url}{paths[-2]}")
    assert rows(page) == ["Does Bean There open on Sundays?"]  # the one opportunity to answer
    page.goto(f"{site.base_url}{paths[-1]}")
    assert sorted(rows(page)) == ["Bean There was rude to me", "Does Bean There open on Sundays?"]
