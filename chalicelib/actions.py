"""Signed action tokens for the links in alerts, and what each action does.

A token is ``<payload>.<signature>``, both base64url without padding. The payload is
compact JSON: key id ``k``, mention key ``m``, action ``a``, recipient ``r``, issued-at ``i``
and expiry ``e`` (Unix seconds) and a random nonce ``n``. The signature is HMAC-SHA256 over the payload
with the signing key from SSM, compared in constant time. A token is bound to one
mention, one action and one recipient, and each route takes only its own actions
(``ROUTE_ACTIONS``); state changes need POST and spend the nonce once the action succeeded,
so a link works once (a Reply link posts one reply) and a failed attempt can be tried again.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from chalicelib.config import ListenConfig, Recipient, RuleConfig
from chalicelib.model import Mention, StoredMention
from chalicelib.pages import Page, cross_site_post, invalid_link, render
from chalicelib.replies import ReplyError, owner_words
from chalicelib.store import Store

log = logging.getLogger(__name__)

ACTIONS = {
    "handled": "Mark as handled",
    "not_relevant": "Not relevant",
    "raise_cap": "Raise the cap for today",
    "exclude": "Add this exclusion",
    "unsubscribe": "Unsubscribe",
    "digest": "Open the digest",
    "reply": "Reply",
    "mute_author": "Mute this author",
    "snooze": "Snooze",
    "mute_thread": "Mute thread",
    "assign": "Assign",
}
RULE_ACTIONS = frozenset({"raise_cap", "exclude"})
NO_MENTION_ACTIONS = RULE_ACTIONS | {"unsubscribe", "digest"}
NO_MENTION = "refused#-"  # never a mention's key (a network name has no '#'): read for tokens that name none
# The token kinds each route takes: /a/ the alert's actions, /u/ unsubscribe, /d/ a digest's web view.
ROUTE_ACTIONS = {
    "a": frozenset(ACTIONS) - {"unsubscribe", "digest"},
    "u": frozenset({"unsubscribe"}),
    "d": frozenset({"digest"}),
}
NONCE_LEASE_SECONDS = 60  # a link's nonce held while its action runs (beyond the API's 29-second limit)
DEFAULT_TTL_SECONDS = 7 * 86400
# How long a snooze link may snooze: the form's ``for`` field -> (seconds, label, when it alerts again).
SNOOZE_PERIODS = {
    "1h": (3600, "1 hour", "in an hour"),
    "1d": (86400, "1 day", "tomorrow at this time"),
    "1w": (7 * 86400, "1 week", "in a week, at this time"),
}
DEFAULT_SNOOZE = "1d"
# The links under each mention of an alert, in this order (assign only where someone else can take it).
ALERT_ACTIONS = ("reply", "handled", "snooze", "mute_author", "mute_thread", "assign", "not_relevant")
EXCLUSION_TERM_MAX_CHARS = 100  # a suggested exclusion travels in its link's token (at most 2,048 characters)
SUGGESTION_WINDOW_SECONDS = 7 * 86400  # a suggested exclusion is tested against the rule's mentions of this week
THREAD_ROOT_MAX_CHARS = 400  # a muted thread is a sort key; no conversation id is this long


def assignees(config: ListenConfig, holder: str) -> list[Recipient]:
    """The recipients ``holder`` may give a mention to: everyone else with an email address."""
    return [r for r in config.recipients if r.name != holder and r.email]


def alert_actions(config: ListenConfig, recipient: str) -> tuple[str, ...]:
    """The actions an alert to ``recipient`` links to under each mention."""
    can_assign = bool(assignees(config, recipient))
    return tuple(a for a in ALERT_ACTIONS if a != "assign" or can_assign)


def thread_to_mute(mention: Mention) -> str | None:
    """``network:root`` of the conversation a mention belongs to, or None when it has none to
    mute: a comment whose conversation the network did not tell."""
    if mention.kind == "comment" and not mention.thread:
        return None
    root = mention.thread_root
    return root if len(root) <= THREAD_ROOT_MAX_CHARS else None


class InvalidToken(Exception):
    """The token is forged, altered, expired or malformed. The reason is for logs only,
    never for the person holding the link."""


@dataclass(frozen=True, slots=True)
class ActionToken:
    mention_key: str
    action: str
    recipient: str
    expires_at: int
    nonce: str
    issued_at: int = 0  # Unix seconds; 0 in tokens made before issued-at was signed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    """A short public name of a signing key, so keys can rotate."""
    return hashlib.sha256(key).hexdigest()[:8]


class TokenSigner:
    """Makes action tokens with the current key and checks them with it or, while keys rotate,
    with a previous one (the token's key id says which)."""

    def __init__(self, key: bytes, *, previous: Sequence[bytes] = (), clock: Callable[[], float] = time.time) -> None:
        for candidate in (key, *previous):
            if len(candidate) < 32:
                raise ValueError("the signing key must be at least 32 bytes")
        self._key = key
        self._kid = key_id(key)
        self._keys = {key_id(k): k for k in (*previous, key)}  # key id -> key; the current one wins
        self._clock = clock

    def sign(self, mention_key: str, action: str, recipient: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        now = int(self._clock())
        payload = {
            "k": self._kid, "m": mention_key, "a": action, "r": recipient,
            "i": now, "e": now + ttl_seconds, "n": secrets.token_urlsafe(12),
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        return f"{body}.{self._signature(body)}"

    def _signature(self, body: str, key: bytes | None = None) -> str:
        return _b64(hmac.new(key or self._key, body.encode("ascii"), hashlib.sha256).digest())

    def verify(self, token: str) -> ActionToken:
        """The token's contents if it is genuine and not expired; else ``InvalidToken``."""
        body, dot, signature = token.partition(".")
        if not dot or not body.isascii() or not signature.isascii() or len(token) > 2048:
            raise InvalidToken("malformed")
        signed_with = next((kid for kid, key in self._keys.items()
                            if hmac.compare_digest(self._signature(body, key), signature)), None)
        if signed_with is None:
            raise InvalidToken("bad signature")
        try:
            payload = json.loads(_unb64(body))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise InvalidToken("undecodable payload") from None
        if not isinstance(payload, dict) or payload.get("k") != signed_with:
            raise InvalidToken("unknown key")
        try:
            result = ActionToken(
                mention_key=str(payload["m"]), action=str(payload["a"]), recipient=str(payload["r"]),
                expires_at=int(payload["e"]), nonce=str(payload["n"]), issued_at=int(payload.get("i", 0)),
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidToken("incomplete payload") from None
        if result.expires_at <= self._clock():
            raise InvalidToken("expired")
        if result.issued_at > self._clock() + 300 or result.issued_at >= result.expires_at:
            raise InvalidToken("issued in the future")
        if result.action not in ACTIONS:
            raise InvalidToken("unknown action")
        return result


@dataclass(frozen=True, slots=True)
class Target:
    """What a verified token acts on: a stored mention, or a rule (and an exclusion term)."""

    mention: StoredMention | None = None
    rule: RuleConfig | None = None
    term: str = ""


class ActionService:
    """What the HTTP endpoint does with a token: show (GET) and perform (POST).

    Mention actions carry the mention key; rule actions carry ``rule:<name>`` (raise_cap)
    or ``exclude:<rule>:<term>`` (exclude), which only links this service signed can hold.
    """

    def __init__(self, config: ListenConfig, store: Store, signer: TokenSigner, poster: Any = None,
                 email: Any = None) -> None:
        self.config = config
        self.store = store
        self.signer = signer
        self.poster = poster  # chalicelib.composer.ReplyPoster: posts replies to the networks
        self.email = email  # chalicelib.alerts.email.EmailChannel: tells an assignee

    def _check(self, token: str, route: str) -> tuple[ActionToken, Target] | None:
        """The token and what it acts on, or None if anything is off (the reason is logged).
        Every token takes the same path, refused or not: verified, then one read of the mention
        it names (of ``NO_MENTION`` when it names none or is refused), so the time of a refusal
        does not tell which check failed."""
        parsed: ActionToken | None = None
        reason = ""
        try:
            parsed = self.signer.verify(token)
        except InvalidToken as err:
            reason = str(err)
        if parsed is not None and parsed.action not in ROUTE_ACTIONS[route]:
            reason = f"{parsed.action} is not an action of /{route}/"
        elif parsed is not None and self.config.recipient(parsed.recipient) is None:
            reason = "recipient no longer configured"
        names_mention = not reason and parsed is not None and parsed.action not in NO_MENTION_ACTIONS
        stored = self.store.get_mention(parsed.mention_key if names_mention and parsed else NO_MENTION)
        target = self._target(parsed, stored) if parsed is not None and not reason else None
        if parsed is not None and not reason and target is None:
            reason = f"its {'rule' if parsed.action in RULE_ACTIONS else 'mention'} no longer exists"
        if reason or parsed is None or target is None:
            log.info("refused an action token: %s", reason)
            return None
        return parsed, target

    def _target(self, parsed: ActionToken, stored: StoredMention | None) -> Target | None:
        if parsed.action == "raise_cap":
            name = parsed.mention_key.removeprefix("rule:")
            rule = self._rule(name)
            return Target(rule=rule) if rule is not None and rule.daily_cap else None
        if parsed.action == "exclude":
            name, _, term = parsed.mention_key.removeprefix("exclude:").partition(":")
            rule = self._rule(name)
            return Target(rule=rule, term=term) if rule is not None and term else None
        if parsed.action == "unsubscribe":  # bound to the recipient the email went to, nothing else
            return Target() if parsed.mention_key == f"recipient:{parsed.recipient}" else None
        return Target(mention=stored) if stored is not None else None

    def _rule(self, name: str) -> RuleConfig | None:
        return next((r for r in self.config.rules if r.name == name), None)

    def confirm_page(self, token: str, form_action: str, route: str = "a") -> Page:
        """GET: show what the action will do and a confirmation form; changes nothing.
        ``route`` is the path's first part (``a`` or ``u``): it takes only its own actions."""
        checked = self._check(token, route)
        if checked is None:
            return invalid_link()
        parsed, target = checked
        button = ACTIONS[parsed.action]
        if target.rule is not None and parsed.action == "raise_cap":
            return render(200, f"Raise the daily cap of \u201c{target.rule.name}\u201d?",
                          message=f"For today only, {target.rule.daily_cap} more mentions of this rule will be "
                          "alerted at once instead of waiting for the digest.", form_action=form_action, button=button)
        if parsed.action == "unsubscribe":
            return render(200, "Stop alert emails?", message="You will get no more alert emails from this listening "
                          "service. SMS alerts, if any, go on.", form_action=form_action, button=button)
        if target.rule is not None:
            return render(200, f"Exclude {target.term} from \u201c{target.rule.name}\u201d?",
                          message="Mentions containing it will no longer match this rule.",
                          form_action=form_action, button=button)
        assert target.mention is not None
        if parsed.action == "reply" and self.store.spent_nonce(parsed.nonce) is not None:
            return _reply_link_used(target.mention)
        if parsed.action == "reply":
            return self._composer(target.mention, form_action, text=None, key=secrets.token_urlsafe(16))
        if parsed.action == "mute_thread" and thread_to_mute(target.mention.item.mention) is None:
            return render(200, "Nothing to mute", mention=_mention_view(target.mention),
                          message="This mention is not part of a conversation that can be muted.")
        if parsed.action == "mute_thread":
            return render(200, "Mute this thread?", mention=_mention_view(target.mention), form_action=form_action,
                          button=button, message="Mentions in this conversation will be kept but no longer alerted.")
        if parsed.action == "assign":
            return self._assign_form(parsed, target.mention, form_action)
        if parsed.action == "snooze":
            return render(200, "Snooze this mention?", mention=_mention_view(target.mention), form_action=form_action,
                          button=button, message="It is alerted again when the snooze ends, unless handled by then.",
                          choices=[(value, label) for value, (_, label, _) in SNOOZE_PERIODS.items()],
                          choice_name="for", checked=DEFAULT_SNOOZE)
        return render(200, f"{button}?", mention=_mention_view(target.mention), form_action=form_action,
                      button=button)

    def _composer(self, stored: StoredMention, form_action: str, *, text: str | None, key: str,
                  status: int = 200, title: str = "Reply", message: str = "") -> Page:
        """The reply page: the mention, an editable draft, the network's limit; for networks
        without a write API, the draft to copy and a link that opens the thread."""
        from chalicelib.composer import can_post, draft, limit_text
        from chalicelib.replies.manual import compose_link

        network = stored.item.mention.network
        body = draft(stored, self.config) if text is None else text
        if can_post(network):
            composer = {"text": body, "key": key, "limit": limit_text(network), "manual_link": ""}
            return render(status, title, message=message, mention=_mention_view(stored), form_action=form_action,
                          button="Post the reply", composer=composer)
        try:
            link = compose_link(stored.item.mention)
        except ReplyError:
            link = ""
        return render(status, title, mention=_mention_view(stored), message=message or
                      "This network has no API for replies: copy the draft and reply there.",
                      composer={"text": body, "key": "", "limit": "", "manual_link": link})

    def perform(self, token: str, prefix: str = "", form: bytes = b"", route: str = "a",
                headers: Mapping[str, str] | None = None) -> Page:
        """POST: do the action once, audit it, say what happened. The nonce is held while the
        action runs and spent when it succeeded; released if it failed, so the link can be
        tried again. ``prefix`` is the API's stage path, for the forms the result page carries;
        ``form`` the urlencoded body (the reply's text and key); ``route`` as for ``confirm_page``;
        ``headers`` the request's: a POST a browser sent from another site's page is refused."""
        if cross_site_post(headers or {}, base_url=self.config.alerts.action_base_url, form=form,
                           one_click=route == "u"):
            log.info("refused an action POST: sent from another site")
            return invalid_link()
        checked = self._check(token, route)
        if checked is None:
            return invalid_link()
        parsed, target = checked
        if parsed.action == "reply" and target.mention is not None:  # one reply per link; retried by its key
            return self._post_reply(parsed, target.mention, form, f"{prefix}/a/{token}")
        if parsed.action == "unsubscribe":  # RFC 8058 one-click: idempotent, so not single-use
            recipient = self.config.recipient(parsed.recipient)
            if recipient is not None and recipient.email:
                self.store.suppress(recipient.email, "unsubscribed")
                self.store.audit(parsed.mention_key, parsed.action, parsed.recipient, "done", parsed.nonce)
            return render(200, "Unsubscribed", message="No more alert emails will be sent to this address.")
        assignee = None
        if parsed.action == "assign" and target.mention is not None:  # checked before the link is spent
            assignee = self._chosen_assignee(parsed, form)
            if assignee is None:
                return self._assign_form(parsed, target.mention, f"{prefix}/a/{token}", status=400,
                                         title="Not assigned")
        claim = self.store.claim_nonce(parsed.nonce, parsed.expires_at, NONCE_LEASE_SECONDS)
        if claim is None:
            return render(409, "This link was already used",
                          mention=_mention_view(target.mention) if target.mention else None)
        try:
            if assignee is not None and target.mention is not None:
                page, result = self._assign(parsed, target.mention, assignee)
            else:
                page, result = self._do(parsed, target, prefix, form)
            self.store.audit(parsed.mention_key, parsed.action, parsed.recipient, result, parsed.nonce)
        except BaseException:
            self._release(parsed.nonce, claim)
            raise
        self.store.spend_nonce(parsed.nonce, claim)
        return page

    def _release(self, nonce: str, claim: str) -> None:
        """Give the nonce back after a failed action; if even that fails, its claim lapses."""
        try:
            self.store.release_nonce(nonce, claim)
        except Exception:
            log.exception("could not release an action nonce; the link works again in %d s", NONCE_LEASE_SECONDS)

    def _assign_form(self, parsed: ActionToken, stored: StoredMention, form_action: str, *, status: int = 200,
                     title: str = "Assign this mention?") -> Page:
        """The mention and the recipients it can be given to, as radio buttons (names only)."""
        names = [r.name for r in assignees(self.config, parsed.recipient)]
        if not names:
            return render(200, "No one to assign to", mention=_mention_view(stored),
                          message="Only recipients with an email address can be assigned a mention, and there is "
                          "no one else in listen.yaml.")
        message = ("Who takes care of it? They get an email with the mention and their own links." if status == 200
                   else f"Choose one of: {', '.join(names)}.")
        return render(status, title, message=message, mention=_mention_view(stored), form_action=form_action,
                      button="Assign", choices=[(n, n) for n in names])

    def _chosen_assignee(self, parsed: ActionToken, form: bytes) -> Recipient | None:
        """The recipient named by the form's ``to``, if the token's holder may assign to them."""
        chosen = form_fields(form).get("to") or []
        allowed = {r.name: r for r in assignees(self.config, parsed.recipient)}
        if len(chosen) != 1 or chosen[0] not in allowed:
            log.info("refused an assignment: the form named no one the holder may assign to")
            return None
        return allowed[chosen[0]]

    def _assign(self, parsed: ActionToken, stored: StoredMention, to: Recipient) -> tuple[Page, str]:
        """Give the mention to ``to`` and tell them by email, once (the delivery is recorded
        under the link's nonce before it is sent). (The page, the audit's result.)"""
        if not self.store.assign_mention(parsed.mention_key, to.name, parsed.recipient):
            return render(404, "Not found", message="This mention is no longer stored."), "mention gone"
        told = self._tell_assignee(parsed, stored, to)
        return render(200, f"Assigned to {to.name}", mention=_mention_view(stored), message=told[0]), told[1]

    def _tell_assignee(self, parsed: ActionToken, stored: StoredMention, to: Recipient) -> tuple[str, str]:
        """Email the assignee; (what the page says, the audit's result)."""
        from chalicelib.alerts.delivery import send_claimed

        if self.email is None or not to.email:
            return f"{to.name} was not emailed: this service sends no email here.", f"assigned to {to.name}; no email"
        if to.email.casefold() in self.store.suppressed():
            return (f"{to.name} was not emailed: their address unsubscribed or bounced. Tell them another way.",
                    f"assigned to {to.name}; address suppressed")
        job = f"assign-{parsed.nonce}"
        if not self.store.claim_delivery(job, to.name, "email", [parsed.mention_key]):
            return f"{to.name} was emailed before.", f"assigned to {to.name}; emailed before"
        message, email, address = self._assignment_email(parsed, stored, to), self.email, to.email
        # The alerts' delivery path; the person assigning is told now, so a transient failure is not retried.
        status, detail = send_claimed(self.store, job, to.name, "email", lambda: email.send_message(message, address),
                                      clock=self.store.clock, retry_later=False)
        if status == "unconfirmed":
            return (f"The email to {to.name} may not have arrived ({detail}). Check with them.",
                    f"assigned to {to.name}; email unconfirmed")
        if status != "sent":
            return (f"The email to {to.name} could not be sent ({detail}). Tell them another way.",
                    f"assigned to {to.name}; email failed")
        return f"{to.name} gets an email with the mention and their own links.", f"assigned to {to.name}; emailed"

    def _assignment_email(self, parsed: ActionToken, stored: StoredMention, to: Recipient) -> EmailMessage:
        """The alert email's look for one mention, with links signed for the assignee."""
        from chalicelib.alerts import AlertBundle, AlertItem, Notice, network_name
        from chalicelib.alerts.email import compose, header_text, one_line
        from chalicelib.alerts.router import is_urgent

        base = self.config.alerts.action_base_url
        links = {action: f"{base}/a/{self.signer.sign(stored.key, action, to.name)}"
                 for action in alert_actions(self.config, to.name)}
        item = AlertItem(stored, links, urgent=is_urgent(stored, self.config.alerts.urgent_priority))
        notice = Notice(f"{parsed.recipient} assigned this mention to you.", "", "")
        bundle = AlertBundle(to, (item,), 1, notices=(notice,))
        assigner = self.config.recipient(parsed.recipient)
        message = compose(bundle, business=self.email.business, from_address=self.email.from_address,
                          reply_to=(assigner.email if assigner and assigner.email else self.email.reply_to))
        mention = stored.item.mention
        what = one_line(mention.title or mention.text, 70)
        message.replace_header("Subject", header_text(f"{parsed.recipient} assigned you a mention on "
                                                      f"{network_name(mention.network)}: {what}"))
        return message

    def _post_reply(self, parsed: ActionToken, stored: StoredMention, form: bytes, form_action: str) -> Page:
        from chalicelib.composer import reply_text

        fields = form_fields(form)
        text = reply_text((fields.get("text") or [""])[0])
        key = (fields.get("key") or [""])[0]
        if not text or not re.fullmatch(r"[A-Za-z0-9_-]{8,128}", key) or self.poster is None:
            return self._composer(stored, form_action, text=text or None, key=secrets.token_urlsafe(16), status=400,
                                  title="Reply not posted", message="Write a reply first, then post it.")
        posted_with = self.store.spent_nonce(parsed.nonce)  # the key of the one reply this link posted
        claim = None
        if posted_with is None:
            claim = self.store.claim_nonce(parsed.nonce, parsed.expires_at, NONCE_LEASE_SECONDS)
        if posted_with != key and claim is None:  # another reply posted (or posting) with this link
            return _reply_link_used(stored)
        try:
            reply = self.poster.post(stored, text, key)
        except ReplyError as err:  # said in words, for the owner; the same key can be sent again safely
            if claim is not None:
                self._release(parsed.nonce, claim)
            log.warning("reply failed: %s", err)
            self.store.audit(parsed.mention_key, "reply", parsed.recipient, f"not posted: {err.message}", key)
            return self._composer(stored, form_action, text=text, key=key, status=502, title="Reply not posted",
                                  message=owner_words(err))
        except BaseException:
            if claim is not None:
                self._release(parsed.nonce, claim)
            raise
        if claim is not None:
            self.store.spend_nonce(parsed.nonce, claim, bound_to=key)
        links = [("See your reply", reply.url)] if reply.url.startswith("https://") else []
        if reply.already_posted:  # the same composed reply sent again (a double press, a retry)
            return render(200, "Reply already posted", mention=_mention_view(stored), links=links)
        self.store.set_mention_state(parsed.mention_key, "handled")
        self.store.audit(parsed.mention_key, "reply", parsed.recipient, "posted", key)
        return render(200, "Reply posted", mention=_mention_view(stored),
                      message="Posted. The mention is marked handled.",
                      links=links)

    def _do(self, parsed: ActionToken, target: Target, prefix: str, form: bytes = b"") -> tuple[Page, str]:
        """Do a single-use action; (the page, the audit's result)."""
        rule = target.rule
        if parsed.action == "raise_cap" and rule is not None and rule.daily_cap:
            day = dt.datetime.fromtimestamp(self.store.clock(), tz=dt.UTC).date().isoformat()
            self.store.add_to_daily_caps(day, raised={rule.name: rule.daily_cap})
            return render(200, "Daily cap raised",
                          message=f"\u201c{rule.name}\u201d may alert {rule.daily_cap} more mentions today."), "done"
        if parsed.action == "exclude" and rule is not None:
            self.store.add_exclusion(rule.name, target.term)
            return render(200, "Exclusion added", message=f"\u201c{rule.name}\u201d now excludes {target.term}, "
                          "from the next poll on."), "done"
        assert target.mention is not None
        if parsed.action == "snooze":
            seconds, label, again = SNOOZE_PERIODS[snooze_period(form)]
            self.store.snooze(parsed.mention_key, int(self.store.clock()) + seconds)
            return render(200, f"Snoozed for {label}", mention=_mention_view(target.mention),
                          message=f"It will be alerted again {again}."), f"done: {label}"
        if parsed.action == "mute_author":
            mention = target.mention.item.mention
            if not mention.author_handle:
                return render(200, "Nothing to mute", message="This mention has no author handle."), "nothing to mute"
            self.store.mute_author(mention.network, mention.author_handle, by=parsed.recipient)
            return render(200, "Author muted", mention=_mention_view(target.mention),
                          message="Their mentions are kept but no longer alerted."), "done"
        if parsed.action == "mute_thread":
            root = thread_to_mute(target.mention.item.mention)
            if root is None:
                return render(200, "Nothing to mute", mention=_mention_view(target.mention),
                              message="This mention is not part of a conversation that can be muted."), \
                    "nothing to mute"
            self.store.mute_thread(root, by=parsed.recipient)
            return render(200, "Thread muted", mention=_mention_view(target.mention),
                          message="Mentions in this conversation are kept but no longer alerted."), "done"
        state = "handled" if parsed.action == "handled" else "not_relevant"
        self.store.set_mention_state(parsed.mention_key, state)
        updated = self.store.get_mention(parsed.mention_key) or target.mention
        if parsed.action == "handled":
            return render(200, "Marked as handled", mention=_mention_view(updated)), "done"
        return render(200, "Marked as not relevant", mention=_mention_view(updated),
                      message="Nothing changes in your rules unless you add one of these exclusions:",
                      forms=self._suggestions(updated, parsed.recipient, prefix)), "done"

    def _suggestions(self, stored: StoredMention, recipient: str, prefix: str) -> list[tuple[str, str]]:
        """(button label, form action) per suggested exclusion, for each rule the mention matched:
        only exclusions that would have removed no other mention of the rule this week but
        those marked not relevant, each saying how many it would have removed."""
        from chalicelib.noise import screened_exclusions

        forms = []
        since = self.store.clock() - SUGGESTION_WINDOW_SECONDS
        for match in stored.item.matches:
            rule = self._rule(match.rule)
            if rule is None:
                continue
            past = [(m.item.mention, m.state) for m in self.store.rule_mentions_since(rule.name, since)]
            for suggestion in screened_exclusions(stored.item.mention, rule.effective_query, past):
                term = suggestion.term
                if len(term) > EXCLUSION_TERM_MAX_CHARS:  # no one excludes such a word; its link would be too long
                    continue
                token = self.signer.sign(f"exclude:{rule.name}:{term}", "exclude", recipient)
                label = f"Exclude {term} from \u201c{rule.name}\u201d ({_removed(suggestion.would_have_removed)})"
                forms.append((label, f"{prefix}/a/{token}"))
        return forms

    def digest_page(self, token: str) -> Page:
        """GET /d/{token}: the daily digest a ``digest`` link names, as a page (changes nothing);
        a forged, expired or foreign token gets the one 403 page."""
        from chalicelib.digest import digest_page

        try:
            parsed = self.signer.verify(token)
        except InvalidToken as err:
            log.info("refused a digest token: %s", err)
            return invalid_link()
        page = digest_page(self.config, self.store, parsed)
        if page is None:
            log.info("refused a digest token: it names no digest of a configured recipient")
            return invalid_link()
        return page

    def token_for_short_code(self, code: str) -> str | None:
        if not code.isascii() or not 4 <= len(code) <= 16 or not all(c.isalnum() or c in "-_" for c in code):
            return None
        return self.store.get_short_link(code)


def _removed(count: int) -> str:
    """How many past mentions an exclusion would have removed, said for its button."""
    if count == 0:
        return "would have removed no other mention this week"
    return (f"would have removed {count} other {'mention' if count == 1 else 'mentions'} this week, "
            f"{'it' if count == 1 else 'each'} marked not relevant")


def _reply_link_used(stored: StoredMention) -> Page:
    return render(409, "This link was already used", mention=_mention_view(stored),
                  message="A Reply link posts one reply. Open the latest alert email for a fresh link.")


def form_fields(form: bytes) -> dict[str, list[str]]:
    """The fields of an urlencoded form body (undecodable bytes replaced, blank values kept)."""
    from urllib.parse import parse_qs

    return parse_qs(form.decode("utf-8", "replace"), keep_blank_values=True)


def snooze_period(form: bytes) -> str:
    """The snooze period the form chose (``for``: 1h, 1d or 1w); the default for anything else,
    so a form posted without a choice (an old email, a mail client's own POST) still snoozes."""
    chosen = form_fields(form).get("for") or []
    return chosen[0] if len(chosen) == 1 and chosen[0] in SNOOZE_PERIODS else DEFAULT_SNOOZE


def _mention_view(stored: StoredMention) -> dict[str, str]:
    from chalicelib.alerts import network_name, shown_text
    from chalicelib.alerts.email import one_line, safe_url

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
