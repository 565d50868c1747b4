"""Browser tests: emails, digests and action pages rendered in headless Chromium (Debian's
chromium package, driven by Playwright; no browser is ever downloaded).

Everything runs on the local stack (DynamoDB Local + moto, from tests/integration) and the
app is served over real HTTP on 127.0.0.1 by Chalice's local server in a thread. Every
browser context reaches 127.0.0.1 only: any other request is aborted and recorded, so a
test can assert none was attempted. Screenshots are kept in .local/artifacts/browser/.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalDevServer
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from app import app
from chalicelib.config import ListenConfig, parse_config
from chalicelib.runtime import Runtime, build, runtime
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from tests.conftest import SIGNING_KEY, SIGNING_KEY_PARAMETER

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / ".local" / "artifacts" / "browser"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
# Records Content-Security-Policy violations from the first line of every page (init scripts are not subject to CSP).
WATCH_CSP = ("window.__violations = [];"
             "document.addEventListener('securitypolicyviolation',"
             " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: renders in headless Chromium (Debian's chromium package)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium (make browser-deps), "
                    "or set CHROMIUM=/path/to/chromium", pytrace=False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A browser context that reaches 127.0.0.1 only. ``external``: every other URL it tried
    (aborted); ``dialogs``: the message of every alert/confirm/prompt a page opened."""

    context: BrowserContext
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("dialog", self._dialog)
        return page

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # never the internet: note the attempt and refuse it
            self.external.append(route.request.url)
            route.abort()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[..., Watched]]:
    """Opens watched browser contexts (options as for ``Browser.new_context``); closes them after the test."""
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> Watched:
        context = browser.new_context(**options)
        opened.append(context)
        watched = Watched(context)
        context.route("**/*", watched.route)
        if options.get("java_script_enabled", True):
            context.add_init_script(WATCH_CSP)
        return watched

    yield open_context
    for context in opened:
        context.close()


class _SerialHandler(ChaliceRequestHandler):
    """Chalice's local request handler, one request at a time: ``app.current_request`` is one
    attribute of the shared app object (``chalice local`` makes it thread-local by changing the
    app's class, which would leak into every other test of the session)."""

    _lock = threading.Lock()

    def _serial_handle(self) -> None:
        with self._lock:
            self._generic_handle()

    do_GET = do_POST = do_HEAD = _serial_handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request on stderr otherwise


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """The app served over HTTP on 127.0.0.1 (a free port) for the session; its base URL.
    What it serves comes from ``runtime()``, which each test builds from its own environment."""
    server = LocalDevServer(app, Config.create(), "127.0.0.1", 0, handler_cls=_SerialHandler)
    thread = threading.Thread(target=server.server.serve_forever, name="chalice-local", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)


@dataclass(frozen=True)
class Site:
    """The example business wired on the local stack, its action links pointing at ``base_url``."""

    base_url: str
    config: ListenConfig
    parts: Runtime  # built the way the Lambdas build it, with the test store


@pytest.fixture
def site(store: Store, replay: ReplayServer, app_server: str, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """listen.yaml for Bean There Café (a brand, an urgent complaints rule, a competitor and an
    industry rule; Hacker News on the replay server; Maria's email; action links on the local
    server); the served app's runtime built from it, as a warm Lambda container would be."""
    text = f"""\
business:
  name: Bean There Café
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
  - name: complaints
    group: brand
    query: '"Bean There" AND (refund OR rude)'
    urgent: true
  - name: Fabrica
    group: competitor
    keywords: ["Fabrica Coffee"]
  - name: espresso
    group: industry
    keywords: ["espresso"]
networks:
  hackernews:
    base_url: {replay.base_url("hackernews")}
    timeout_seconds: 2
recipients:
  - name: Maria
    email: maria@beanthere.example
    timezone: Europe/Lisbon
alerts:
  from_address: alerts@beanthere.example
  action_base_url: {app_server}
  digest_hour: 8
secrets:
  signing_key_parameter: {SIGNING_KEY_PARAMETER}
"""
    path = tmp_path / "listen.yaml"
    path.write_text(text, encoding="utf-8")
    config = parse_config(text, str(path))
    monkeypatch.setenv("LISTEN_CONFIG", str(path))
    runtime.cache_clear()
    runtime()  # the served app's container, warm with this test's table and config
    yield Site(app_server, config, build(config, store, signing_key=SIGNING_KEY.encode(), clock=store.clock))
    runtime.cache_clear()


class Anchors(HTMLParser):
    """(label, href) of every <a> in an HTML document, as a mail client would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None
        self._label = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._label = dict(attrs).get("href") or "", ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._label += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.found.append((" ".join(self._label.split()), self._href))
            self._href = None


def anchors(html: str) -> list[tuple[str, str]]:
    """(label, href) of every link of an HTML document, in order, labels with spaces collapsed."""
    parser = Anchors()
    parser.feed(html)
    return parser.found


def token_mention(link: str) -> str:
    """The mention key an action link's token names (its payload is signed, not secret)."""
    payload = link.rpartition("/")[2].partition(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["m"])


def link_for(links: list[tuple[str, str]], label: str, key: str) -> str:
    """The link labelled ``label`` for the mention ``key`` (the token's payload names it)."""
    for found, href in links:
        if found == label and token_mention(href) == key:
            return href
    raise AssertionError(f"no {label!r} link for {key} in {links}")


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot kept as a test artifact: .local/artifacts/browser/<name>.png."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def overflow_x(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (0: no horizontal scroll)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


# Text elements whose colour is too close to the background behind them (WCAG contrast below 3:1,
# the floor for large text): unreadable in that colour scheme. Colour swatches (■) are exempt.
_LOW_CONTRAST = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = ({r, g, b}) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const probe = document.createElement('div'); probe.style.background = 'Canvas'; document.body.appendChild(probe);
  const canvas = parse(getComputedStyle(probe).backgroundColor); probe.remove();
  const behind = el => { for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0) return c; } return canvas; };
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!own || own === '■' || !el.getClientRects().length) continue;
    const fg = lum(parse(getComputedStyle(el).color)), bg = lum(behind(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 3) found.push(`${el.tagName.toLowerCase()} "${own.slice(0, 40)}" ${ratio.toFixed(2)}:1`);
  }
  return found;
}"""


def low_contrast(page: Page) -> list[str]:
    """Text elements unreadable against their background (contrast below 3:1), described."""
    return list(page.evaluate(_LOW_CONTRAST))
