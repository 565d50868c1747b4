"""The inbox: one place to see and work every mention (behind a signed-in session).

- ``GET /in/``: the mentions of the chosen days (the last ``DEFAULT_DAYS`` by default; the last
  ``SEARCH_DAYS`` for a text search), unanswered opportunities first, then new, then snoozed and
  held, then the rest; each part by priority, then newest first; ``PAGE_SIZE`` a page, the next
  page after an opaque cursor (the last row's place in that order, so a row changing state
  meanwhile skips or repeats nothing else). Filters are query parameters, checked strictly: an
  unknown name or a bad value is a 400 page naming it.
- ``GET /in/m/<key>``: a mention, every action of an alert (each a fresh, short-lived action link
  of the signed-in recipient, so the actions are ``chalicelib.web.service``'s own), the reply
  composer and what was done to it (the audit).
- ``POST /in/bulk``: handled, snooze or mute author for the checked mentions (the caller checked
  the session's CSRF token).
- ``GET /in/rules``, ``/in/health``, ``/in/deliveries``: each rule's mentions this week and its
  not-relevant rate; each network's state in words; the deliveries that failed or may not have
  arrived, with what they held.

Everything here is pure over the store (``StoreProtocol``): ``MemoryStore`` runs it in unit tests.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.digest import TO_ANSWER, UNLISTED_STATES
from chalicelib.model import Intent, RuleGroup, SentimentLabel, StoredMention
from chalicelib.store.inbox import InboxEntry, days_between, entry_from, facets_of, rank
from chalicelib.store.table import iso
from chalicelib.web.pages import SECURITY_HEADERS, Page, _templates

PAGE_SIZE = 50
DEFAULT_DAYS = 7  # the inbox shows this many days unless asked for others
SEARCH_DAYS = 30  # a text search covers this many days unless asked for others
MAX_DAYS = 31  # the longest span one page reads
RETENTION_DAYS = 90  # mentions are kept this long (store.MENTION_TTL_DAYS)
MAX_QUERY_CHARS = 100
MAX_BULK = 100  # mentions one bulk action may name
ACTION_LINK_SECONDS = 3600  # the mention page's action links work this long
WEEK_SECONDS = 7 * 86400

STATES = {  # the state filter's values -> what the page calls them
    "open": "to answer", "new": "new", "snoozed": "snoozed", "held": "held back", "handled": "handled",
    "not_relevant": "not relevant",
}
BULK_ACTIONS = {"handled": "Mark handled", "snooze": "Snooze 1 day", "mute_author": "Mute the authors"}
PARAMETERS = ("state", "network", "group", "rule", "sentiment", "intent", "assigned", "from", "to", "q", "job",
              "cursor", "tz", "section", "for", "channel")
CHANNELS = ("email", "sms", "digest")  # ``channel`` (with ``job``): what one delivery of the alert carried
SECTIONS = {  # the digest's sections the inbox can list (``section``, ``in_section``): what the page calls each
    "opportunities": "the digest's opportunities",
    "to_answer": "the digest's opportunities still to answer",
    "questions": "the digest's industry questions",
    "counted": "the mentions the digest counts",
}
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]{0,30}(/[A-Za-z0-9_+-]{1,30}){0,2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_JOB = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_RECIPIENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")  # a recipient's name, as listen.yaml takes them
_KEY = re.compile(r"[A-Za-z0-9_-]{1,700}")


class BadFilter(ValueError):
    """A query parameter the inbox cannot take; the message names it and says what it takes."""


@dataclass(frozen=True, slots=True)
class InboxFilter:
    state: str = ""
    network: str = ""
    group: str = ""
    rule: str = ""
    sentiment: str = ""
    intent: str = ""
    assigned_me: bool = False
    first: str = ""  # yyyy-mm-dd, UTC
    last: str = ""
    q: str = ""
    job: str = ""
    after: tuple[Any, ...] | None = None  # the cursor: the last row shown, as ``rank`` says
    zone: str = ""  # ``tz``: first and last are days of this time zone (the digest's), read by their UTC range
    since: str = ""  # with a zone: the UTC instants (ISO 8601) the local days span, since included, until not
    until: str = ""
    section: str = ""  # a digest section (SECTIONS)
    recipient: str = ""  # ``for`` (with ``job``): what the alert carried to this recipient, not to the viewer
    channel: str = ""  # ``channel`` (with ``job``): by this channel only

    def utc_days(self) -> list[str]:
        """The UTC days (stored by) to read, newest first."""
        if not self.zone:
            return days_between(self.first, self.last)
        end = dt.datetime.fromisoformat(self.until) - dt.timedelta(milliseconds=1)
        return days_between(self.since[:10], end.date().isoformat())


# --- keys in paths, cursors ------------------------------------------------------------

def encode_key(key: str) -> str:
    """A mention key as one path segment (base64url: keys hold ``#`` and whatever ids a network uses)."""
    return base64.urlsafe_b64encode(key.encode()).decode("ascii").rstrip("=")


def decode_key(segment: str) -> str | None:
    """The mention key of a path segment, None if it is not one ``encode_key`` made."""
    if not _KEY.fullmatch(segment):
        return None
    try:
        key = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return key if encode_key(key) == segment and "#" in key else None


def encode_cursor(row: InboxEntry) -> str:
    return base64.urlsafe_b64encode(json.dumps(rank(row), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[Any, ...]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadFilter("cursor: not a cursor this inbox made (open the inbox again)") from None
    if (not isinstance(raw, list) or len(raw) != 4 or not all(isinstance(v, int) for v in raw[:2])
            or not all(isinstance(v, str) for v in raw[2:])):
        raise BadFilter("cursor: not a cursor this inbox made (open the inbox again)")
    return tuple(raw)


# --- the filters ---------------------------------------------------------------------------

def _one_of(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise BadFilter(f"{name}: {value[:40]!r} is not one of {', '.join(allowed)}")
    return value


def _day(name: str, value: str) -> dt.date:
    try:
        if not _DAY.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadFilter(f"{name}: {value[:40]!r} is not a date like 2026-12-05") from None


def parse_filter(params: Mapping[str, str], *, networks: Sequence[str], rules: Sequence[str],
                 today: dt.date) -> InboxFilter:
    """The inbox's filters from the query parameters; ``BadFilter`` naming the first bad one."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise BadFilter(f"{unknown[0][:40]}: the inbox has no such filter (it takes {', '.join(PARAMETERS)})")
    p = {k: v for k, v in params.items() if v != ""}
    q = " ".join(p.get("q", "").split())
    if len(q) > MAX_QUERY_CHARS:
        raise BadFilter(f"q: at most {MAX_QUERY_CHARS} characters")
    first = _day("from", p["from"]) if "from" in p else None
    last = _day("to", p["to"]) if "to" in p else None
    span = SEARCH_DAYS if q else DEFAULT_DAYS
    last = last or (min(first + dt.timedelta(days=span - 1), today) if first else today)
    first = first or last - dt.timedelta(days=span - 1)
    zone = _zone(p["tz"]) if "tz" in p else None
    if last > today + dt.timedelta(days=1 if zone else 0):  # a zone's day can be a day ahead of UTC's
        raise BadFilter(f"to: {last} is after today ({today}, UTC)")
    if first > last:
        raise BadFilter(f"from: {first} is after to ({last})")
    if (last - first).days >= MAX_DAYS:
        raise BadFilter(f"from: at most {MAX_DAYS} days at once ({first} to {last} is {(last - first).days + 1})")
    if first < today - dt.timedelta(days=RETENTION_DAYS):
        raise BadFilter(f"from: mentions are kept {RETENTION_DAYS} days; {first} is older")
    if "job" in p and not _JOB.fullmatch(p["job"]):
        raise BadFilter("job: not an alert's id")
    if ("for" in p or "channel" in p) and "job" not in p:
        raise BadFilter(f"{'for' if 'for' in p else 'channel'}: only with job (what one alert carried)")
    if "for" in p and not _RECIPIENT.fullmatch(p["for"]):
        raise BadFilter("for: not a recipient's name (1-64 letters, digits, spaces, '.', '_' or '-')")
    return InboxFilter(
        state=_one_of("state", p["state"], list(STATES)) if "state" in p else "",
        network=_one_of("network", p["network"], sorted(networks)) if "network" in p else "",
        group=_one_of("group", p["group"], get_args(RuleGroup)) if "group" in p else "",
        rule=_one_of("rule", p["rule"], rules) if "rule" in p else "",
        sentiment=_one_of("sentiment", p["sentiment"], get_args(SentimentLabel)) if "sentiment" in p else "",
        intent=_one_of("intent", p["intent"], get_args(Intent)) if "intent" in p else "",
        assigned_me=_one_of("assigned", p["assigned"], ["me"]) == "me" if "assigned" in p else False,
        first=first.isoformat(), last=last.isoformat(), q=q, job=p.get("job", ""),
        after=decode_cursor(p["cursor"]) if "cursor" in p else None,
        zone=p.get("tz", ""), since=_utc_start(first, zone) if zone else "",
        until=_utc_start(last + dt.timedelta(days=1), zone) if zone else "",
        section=_one_of("section", p["section"], list(SECTIONS)) if "section" in p else "",
        recipient=p.get("for", ""),
        channel=_one_of("channel", p["channel"], CHANNELS) if "channel" in p else "",
    )


def _zone(name: str) -> ZoneInfo:
    try:
        if not _ZONE.fullmatch(name):
            raise ValueError
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise BadFilter(f"tz: {name[:40]!r} is not a time zone like Europe/Lisbon") from None


def _utc_start(day: dt.date, zone: ZoneInfo) -> str:
    """The UTC instant (as stored_at is written) the day starts at in ``zone``."""
    return iso(dt.datetime.combine(day, dt.time(), zone).timestamp())


def matches(e: InboxEntry, f: InboxFilter, me: str) -> bool:
    """Whether the entry passes every filter but the days (``me``: the signed-in recipient's name)."""
    state_ok = (e.state == "new" and e.opportunity) if f.state == "open" else (not f.state or e.state == f.state)
    return (state_ok and (not f.network or e.network == f.network) and (not f.group or f.group in e.groups)
            and (not f.rule or f.rule in e.rules)
            and (not f.sentiment or e.sentiment == f.sentiment) and (not f.intent or f.intent in e.intents)
            and (not f.assigned_me or e.assigned_to == me) and (not f.q or f.q.casefold() in e.text.casefold())
            and (not f.zone or f.since <= e.stored_at < f.until)
            and (not f.section or in_section(e, f.section)))


def in_section(e: InboxEntry, section: str) -> bool:
    """Whether the digest's ``section`` (``SECTIONS``) lists or counts the entry, as ``chalicelib.digest`` picks
    them: opportunities and industry questions not held back or marked not relevant, those still to answer
    (new or snoozed), and every mention its numbers count (all but those held back: they are listed apart)."""
    if section == "opportunities":
        return e.opportunity and e.state not in UNLISTED_STATES
    if section == "to_answer":
        return e.opportunity and e.state in TO_ANSWER
    if section == "questions":
        return "question" in e.intents and "industry" in e.groups and e.state not in UNLISTED_STATES
    return e.state != "held"  # counted


def page_of(entries: Sequence[InboxEntry], f: InboxFilter, me: str,
            size: int = PAGE_SIZE) -> tuple[list[InboxEntry], InboxEntry | None]:
    """The page's rows in the inbox's order, and the last of them if more follow (for the cursor)."""
    return page_from(sorted(entries, key=rank), f, me, size)


def page_from(ordered: Iterable[InboxEntry], f: InboxFilter, me: str,
              size: int = PAGE_SIZE) -> tuple[list[InboxEntry], InboxEntry | None]:
    """``page_of`` over entries already in the inbox's order, taking only as many as the page needs."""
    chosen = list(islice((e for e in ordered if matches(e, f, me) and (f.after is None or rank(e) > f.after)),
                         size + 1))
    rows = chosen[:size]
    return rows, (rows[-1] if len(chosen) > size else None)


def parts_of(f: InboxFilter) -> tuple[int, int]:
    """The parts of the inbox's order (``chalicelib.store.inbox.PARTS``) the state filter keeps."""
    return {"open": (0, 0), "new": (0, 1), "snoozed": (2, 2), "held": (2, 2), "handled": (3, 3),
            "not_relevant": (3, 3)}.get(f.state, (0, 3))


def entry_of(stored: StoredMention, assigned_to: str | None = None) -> InboxEntry:
    """A stored mention as an inbox row (for lists of known keys: an alert's, an SMS's)."""
    return entry_from(stored.key, stored.stored_at, stored.state, assigned_to, facets_of(stored.item))


# --- what the pages say ----------------------------------------------------------------------

def _when(at: str) -> str:
    try:
        return dt.datetime.fromisoformat(at).strftime("%a %d %b %H:%M UTC")
    except ValueError:
        return at[:40]


def row_view(e: InboxEntry, prefix: str) -> dict[str, Any]:
    from chalicelib.alerts import network_name

    state = "to answer" if e.state == "new" and e.opportunity else STATES.get(e.state, e.state)
    return {"key": encode_key(e.key), "href": f"{prefix}/in/m/{encode_key(e.key)}", "text": e.text or "(no text)",
            "author": e.author or "someone", "network": network_name(e.network), "when": _when(e.stored_at),
            "state": state, "priority": e.priority, "groups": ", ".join(e.groups),
            "assigned": e.assigned_to or ""}


def health_words(network: str, h: Any, now: float) -> str:
    """One network's state, said for the owner."""
    if h is None:
        return "not checked yet"
    if h.consecutive_failures:
        retry = (f"; we try again at {dt.datetime.fromtimestamp(h.retry_not_before, dt.UTC):%H:%M} UTC"
                 if h.retry_not_before > now else "")
        last = f" (last worked {_when(h.last_success_at)})" if h.last_success_at else ""
        return (f"not working: the last {h.consecutive_failures} tries failed{last}: "
                f"{(h.last_error or 'no reason given')[:200]}{retry}")
    said = f"working: last checked {_when(h.last_success_at)}" if h.last_success_at else "working"
    if h.last_data_at:
        said += f"; last new item {_when(h.last_data_at)}"
    if h.last_skip:
        said += f"; {h.last_skip[:200]}"
    return said


@dataclass(frozen=True, slots=True)
class Viewed:
    """Who is looking: the recipient's name (``assigned=me``), their session's CSRF token, their address."""

    name: str
    csrf: str
    address: str = ""


class InboxPages:
    """The inbox's pages over the store. ``signer`` (``links.TokenSigner``) makes the mention page's
    action links; ``clock`` says what today is."""

    def __init__(self, config: Any, store: Any, signer: Any, clock: Callable[[], float]) -> None:
        self.config = config
        self.store = store
        self.signer = signer
        self.clock = clock

    def _render(self, status: int, title: str, view: str, prefix: str, viewer: Viewed, **context: Any) -> Page:
        body = _templates().get_template("inbox.html.j2").render(
            title=title, message=context.pop("message", ""), mention=context.pop("mention", None),
            form_action="", button="", forms=[], composer=None, links=[], choices=[], choice_name="", checked="",
            view=view, prefix=prefix, csrf=viewer.csrf, viewer=viewer, **context)
        return Page(status, body, dict(SECURITY_HEADERS))

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).date()

    def list_page(self, viewer: Viewed, params: Mapping[str, str], *, prefix: str = "") -> Page:
        try:
            f = parse_filter(params, networks=sorted(self.config.networks), rules=[r.name for r in self.config.rules],
                             today=self._today())
        except BadFilter as bad:
            return self._render(400, "That filter does not work", "error", prefix, viewer, message=str(bad),
                                back=f"{prefix}/in/")
        if f.job:
            to = f.recipient or viewer.name  # what this alert carried to the viewer (or to ``for``)
            keys = list(dict.fromkeys(k for d in self.store.deliveries(f.job) if d.recipient == to
                                      and (not f.channel or d.channel == f.channel) for k in d.mention_keys))
            found = self.store.get_mentions(keys) if keys else {}
            rows, last = page_of([entry_of(found[k], self.store.assigned_to(k) if f.assigned_me else None)
                                  for k in keys if k in found], f, viewer.name)
        else:  # the index holds each day in the inbox's order: read about one page of it
            rows, last = page_from(self.store.inbox_ordered(f.utc_days(), parts_of(f), f.after,
                                                            PAGE_SIZE + 1), f, viewer.name)
        kept = {k: v for k, v in params.items() if k != "cursor" and v != ""}
        more = f"{prefix}/in/?" + _query({**kept, "cursor": encode_cursor(last)}) if last else ""
        title = "This alert's mentions" if f.job else "Inbox"
        return self._render(200, title, "list", prefix, viewer, rows=[row_view(e, prefix) for e in rows],
                            more=more, f=f, params=kept, states=STATES, networks=sorted(self.config.networks),
                            groups=get_args(RuleGroup), sentiments=get_args(SentimentLabel),
                            intents=get_args(Intent), bulk=BULK_ACTIONS, sections=SECTIONS)

    def mention_page(self, viewer: Viewed, segment: str, *, prefix: str = "") -> Page:
        from chalicelib.links import ACTIONS, alert_actions
        from chalicelib.networks import can_reply, reply_limit_text
        from chalicelib.web.composer import draft
        from chalicelib.web.views import mention_view

        key = decode_key(segment)
        stored = self.store.get_mention(key) if key else None
        if stored is None:
            return self._render(404, "Not found", "error", prefix, viewer, back=f"{prefix}/in/",
                                message="No such mention: it may have expired (mentions are kept 90 days).")

        def link(action: str) -> str:
            return f"{prefix}/a/{self.signer.sign(stored.key, action, viewer.name, ttl_seconds=ACTION_LINK_SECONDS)}"

        actions = [(ACTIONS[a], link(a)) for a in alert_actions(self.config, viewer.name) if a != "reply"]
        network = stored.item.mention.network
        reply = {"action": link("reply"), "text": draft(stored, self.config), "key": secrets.token_urlsafe(16),
                 "limit": reply_limit_text(network), "can_post": can_reply(network)}
        log = [{"at": _when(a["at"]), "action": a["action"].replace("_", " "), "who": a["recipient"],
                "result": a["result"]} for a in self.store.audit_log(stored.key)]
        return self._render(200, "Mention", "mention", prefix, viewer, mention=mention_view(stored), actions=actions,
                            reply=reply, log=log, assigned=self.store.assigned_to(stored.key) or "",
                            back=f"{prefix}/in/")

    def bulk(self, viewer: Viewed, fields: Mapping[str, list[str]], *, prefix: str = "") -> Page:
        """Do one action to the checked mentions (``m``: encoded keys), each audited as the viewer's."""
        from chalicelib.actions.handled import mark_handled
        from chalicelib.actions.mute_author import mute_author
        from chalicelib.actions.snooze import snooze

        action = (fields.get("action") or [""])[0]
        segments = fields.get("m") or []
        keys = [k for k in map(decode_key, segments) if k is not None]
        actor = self.config.recipient(viewer.name)
        problem = ("Choose an action." if action not in BULK_ACTIONS else
                   "Check at least one mention." if not segments else
                   f"At most {MAX_BULK} mentions at once." if len(segments) > MAX_BULK else
                   "A checked mention is not one of this inbox's." if len(keys) != len(segments) else
                   "You are no longer a recipient in listen.yaml." if actor is None else "")
        if problem:
            return self._render(400, "Nothing done", "error", prefix, viewer, message=problem, back=f"{prefix}/in/")
        found = self.store.get_mentions(keys)
        said: list[tuple[str, str]] = []
        for key in dict.fromkeys(keys):
            stored = found.get(key)
            if stored is None:
                said.append((key, "no longer stored"))
                continue
            if action == "handled":
                outcome = mark_handled(stored, actor, store=self.store)
            elif action == "snooze":
                outcome = snooze(stored, actor, seconds=86400, store=self.store, clock=self.clock)
            else:
                outcome = mute_author(stored, actor, store=self.store)
            self.store.audit(key, action, viewer.name, outcome.said, f"bulk-{secrets.token_urlsafe(9)}")
            said.append((stored.item.mention.title or stored.item.mention.text[:80] or key, outcome.said))
        return self._render(200, f"{BULK_ACTIONS[action]}: done", "done", prefix, viewer, said=said,
                            back=f"{prefix}/in/")

    def alert_list_page(self, token: str, *, prefix: str = "") -> Page | None:
        """The page an SMS's short link opens when the SMS named several mentions: every mention of
        it with its actions (links of the token's recipient). The short link's token stays the first
        mention's (SMS commands quote its code); the SMS is the delivery of the job that stored that
        mention, to the token's recipient, that names more than one, the first being it. None
        otherwise: the caller shows the token's own action (a bad token gets its one 403 page)."""
        from chalicelib.links import ACTIONS, InvalidToken, alert_actions
        from chalicelib.web.views import mention_view

        try:
            parsed = self.signer.verify(token)
        except InvalidToken:
            return None
        recipient = self.config.recipient(parsed.recipient)
        stored = self.store.get_mention(parsed.mention_key) if parsed.action == "handled" and recipient else None
        if recipient is None or stored is None or not stored.job:
            return None
        sms = [d.mention_keys for d in self.store.deliveries(stored.job) if d.recipient == recipient.name
               and d.channel == "sms" and len(d.mention_keys) > 1 and d.mention_keys[0] == stored.key]
        if not sms:
            return None
        found = self.store.get_mentions(sms[0])
        shown = []
        for key in (k for k in sms[0] if k in found):
            links = [(ACTIONS[a], f"{prefix}/a/{self.signer.sign(key, a, recipient.name)}")
                     for a in alert_actions(self.config, recipient.name)]
            shown.append({"mention": mention_view(found[key]), "actions": links})
        return self._render(200, f"{len(shown)} mentions of this alert", "alert", prefix, Viewed(recipient.name, ""),
                            listed=shown)

    def rules_page(self, viewer: Viewed, *, prefix: str = "") -> Page:
        now = self.clock()
        since = dt.datetime.fromtimestamp(now - WEEK_SECONDS, dt.UTC).isoformat(timespec="milliseconds")
        week = [e for e in self.store.inbox_entries(days_between(since[:10], self._today().isoformat()))
                if e.stored_at >= since]
        rows = []
        for rule in self.config.rules:
            mine = [e for e in week if rule.name in e.rules]
            judged = sum(e.state == "not_relevant" for e in mine)
            rate = f"{round(100 * judged / len(mine))}% ({judged} of {len(mine)})" if mine else "no mentions"
            rows.append({"name": rule.name, "group": rule.group, "count": len(mine), "not_relevant": rate,
                         "href": f"{prefix}/in/?" + _query({"from": since[:10], "rule": rule.name})})
        return self._render(200, "Rules this week", "rules", prefix, viewer, rules=rows)

    def health_page(self, viewer: Viewed, *, prefix: str = "") -> Page:
        from chalicelib.alerts import network_name

        health = self.store.all_health()
        now = self.clock()
        rows = [{"network": network_name(n), "words": health_words(n, health.get(n), now)}
                for n in sorted(self.config.enabled_networks())]
        return self._render(200, "Networks", "health", prefix, viewer, networks=rows)

    def deliveries_page(self, viewer: Viewed, *, prefix: str = "") -> Page:
        from chalicelib.digest import undelivered_line, undelivered_since

        found = undelivered_since(self.store, self.clock() - WEEK_SECONDS)
        zone = next((r.timezone for r in self.config.recipients
                     if r.email and r.email.casefold() == viewer.address.casefold()), "UTC")
        rows = [{"line": undelivered_line(u, zone), "mentions": [row_view(entry_of(m), prefix) for m in u.mentions]}
                for u in found]
        return self._render(200, "Alerts that failed or may not have arrived", "deliveries", prefix, viewer,
                            deliveries=rows)


def _query(params: Mapping[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(sorted(params.items()))
