"""What the API's routes do with an action link's token: check it, show what the action will do
(GET), perform it once (POST), through the action's module in ``chalicelib.actions``.

State changes need POST and spend the link's nonce once the action succeeded, so a link works
once (a Reply link posts one reply) and a failed attempt can be tried again. Every action done
here is audited once, under the link's nonce, as done by the recipient the token names.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.actions.assign import assign
from chalicelib.actions.common import Outcome
from chalicelib.actions.exclude import exclude
from chalicelib.actions.handled import mark_handled
from chalicelib.actions.mute_author import mute_author
from chalicelib.actions.mute_thread import mute_thread, thread_to_mute
from chalicelib.actions.not_relevant import mark_not_relevant, suggested_exclusions
from chalicelib.actions.raise_cap import raise_cap
from chalicelib.actions.reply import post_reply, reply_text
from chalicelib.actions.snooze import DEFAULT_PERIOD, PERIODS, snooze
from chalicelib.actions.unhold import unhold
from chalicelib.actions.unsubscribe import unsubscribe
from chalicelib.actions.wrong_label import CHOICES, wrong_label
from chalicelib.config import ListenConfig, Recipient, RuleConfig
from chalicelib.links import (
    ACTIONS,
    NO_MENTION_ACTIONS,
    ROUTE_ACTIONS,
    RULE_ACTIONS,
    ActionToken,
    InvalidToken,
    TokenSigner,
    assignees,
    is_short_code,
)
from chalicelib.model import StoredMention
from chalicelib.store import Store
from chalicelib.web.composer import composer_page
from chalicelib.web.forms import chosen_assignee, chosen_label, form_fields, snooze_period
from chalicelib.web.pages import Page, cross_site_post, invalid_link, render
from chalicelib.web.views import mention_view, removed, reply_link_used

log = logging.getLogger(__name__)

NO_MENTION = "refused#-"  # never a mention's key (a network name has no '#'): read for tokens that name none
NONCE_LEASE_SECONDS = 60  # a link's nonce held while its action runs (beyond the API's 29-second limit)


@dataclass(frozen=True, slots=True)
class Target:
    """What a verified token acts on, and who acts: a stored mention, or a rule (and an
    exclusion term); ``actor`` the configured recipient the token was signed for."""

    actor: Recipient
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
        self.poster = poster  # chalicelib.actions.reply.ReplyPoster: posts replies to the networks
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
        actor = self.config.recipient(parsed.recipient) if parsed is not None else None
        if parsed is not None and parsed.action not in ROUTE_ACTIONS[route]:
            reason = f"{parsed.action} is not an action of /{route}/"
        elif parsed is not None and actor is None:
            reason = "recipient no longer configured"
        names_mention = not reason and parsed is not None and parsed.action not in NO_MENTION_ACTIONS
        stored = self.store.get_mention(parsed.mention_key if names_mention and parsed else NO_MENTION)
        target = self._target(parsed, actor, stored) if parsed is not None and actor and not reason else None
        if parsed is not None and not reason and target is None:
            reason = f"its {'rule' if parsed.action in RULE_ACTIONS else 'mention'} no longer exists"
        if reason or parsed is None or target is None:
            log.info("refused an action token: %s", reason)
            return None
        return parsed, target

    def _target(self, parsed: ActionToken, actor: Recipient, stored: StoredMention | None) -> Target | None:
        if parsed.action == "raise_cap":
            name = parsed.mention_key.removeprefix("rule:")
            rule = self._rule(name)
            return Target(actor, rule=rule) if rule is not None and rule.daily_cap else None
        if parsed.action == "exclude":
            name, _, term = parsed.mention_key.removeprefix("exclude:").partition(":")
            rule = self._rule(name)
            return Target(actor, rule=rule, term=term) if rule is not None and term else None
        if parsed.action == "unsubscribe":  # bound to the recipient the email went to, nothing else
            return Target(actor) if parsed.mention_key == f"recipient:{parsed.recipient}" else None
        return Target(actor, mention=stored) if stored is not None else None

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
            return reply_link_used(target.mention)
        if parsed.action == "reply":
            return composer_page(target.mention, self.config, form_action, text=None, key=secrets.token_urlsafe(16))
        if parsed.action == "mute_thread" and thread_to_mute(target.mention.item.mention) is None:
            return render(200, "Nothing to mute", mention=mention_view(target.mention),
                          message="This mention is not part of a conversation that can be muted.")
        if parsed.action == "mute_thread":
            return render(200, "Mute this thread?", mention=mention_view(target.mention), form_action=form_action,
                          button=button, message="Mentions in this conversation will be kept but no longer alerted.")
        if parsed.action == "assign":
            return self._assign_form(parsed, target.mention, form_action)
        if parsed.action == "wrong_label":
            return self._label_form(target.mention, form_action)
        if parsed.action == "unhold":
            return render(200, "Not held back after all?", mention=mention_view(target.mention),
                          form_action=form_action, button=button,
                          message="You get the alert it would have had, it goes back to your new mentions, "
                          "and mentions like it will be held back less from now on.")
        if parsed.action == "snooze":
            return render(200, "Snooze this mention?", mention=mention_view(target.mention), form_action=form_action,
                          button=button, message="It is alerted again when the snooze ends, unless handled by then.",
                          choices=[(value, label) for value, (_, label, _) in PERIODS.items()],
                          choice_name="for", checked=DEFAULT_PERIOD)
        return render(200, f"{button}?", mention=mention_view(target.mention), form_action=form_action,
                      button=button)

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
            return self._post_reply(parsed, target.actor, target.mention, form, f"{prefix}/a/{token}")
        if parsed.action == "unsubscribe":  # RFC 8058 one-click: idempotent, so not single-use
            outcome = unsubscribe(target.actor, store=self.store)
            if outcome.done:
                self.store.audit(parsed.mention_key, parsed.action, parsed.recipient, outcome.said, parsed.nonce)
            return render(200, "Unsubscribed", message="No more alert emails will be sent to this address.")
        assignee = None
        if parsed.action == "assign" and target.mention is not None:  # checked before the link is spent
            assignee = chosen_assignee(self.config, parsed.recipient, form)
            if assignee is None:
                return self._assign_form(parsed, target.mention, f"{prefix}/a/{token}", status=400,
                                         title="Not assigned")
        if parsed.action == "wrong_label" and target.mention is not None and chosen_label(form) is None:
            return self._label_form(target.mention, f"{prefix}/a/{token}", status=400)
        claim = self.store.claim_nonce(parsed.nonce, parsed.expires_at, NONCE_LEASE_SECONDS)
        if claim is None:
            return render(409, "This link was already used",
                          mention=mention_view(target.mention) if target.mention else None)
        try:
            page, result = self._do(parsed, target, prefix, form, assignee)
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
            return render(200, "No one to assign to", mention=mention_view(stored),
                          message="Only recipients with an email address can be assigned a mention, and there is "
                          "no one else in listen.yaml.")
        message = ("Who takes care of it? They get an email with the mention and their own links." if status == 200
                   else f"Choose one of: {', '.join(names)}.")
        return render(status, title, message=message, mention=mention_view(stored), form_action=form_action,
                      button="Assign", choices=[(n, n) for n in names])

    def _label_form(self, stored: StoredMention, form_action: str, *, status: int = 200) -> Page:
        """What the mention is, as the owner says: one radio button per ``CHOICES``."""
        message = ("What is this mention? Similar mentions will be labelled (or held back) as you say."
                   if status == 200 else f"Choose one of: {', '.join(label for label, _ in CHOICES.values())}.")
        return render(status, "What is this mention?" if status == 200 else "Not labelled", message=message,
                      mention=mention_view(stored), form_action=form_action, button="Save",
                      choices=[(value, label) for value, (label, _) in CHOICES.items()], choice_name="label")

    def _post_reply(self, parsed: ActionToken, actor: Recipient, stored: StoredMention, form: bytes,
                    form_action: str) -> Page:
        fields = form_fields(form)
        text = reply_text((fields.get("text") or [""])[0])
        key = (fields.get("key") or [""])[0]
        if not text or not re.fullmatch(r"[A-Za-z0-9_-]{8,128}", key) or self.poster is None:
            return composer_page(stored, self.config, form_action, text=text or None, key=secrets.token_urlsafe(16),
                                 status=400, title="Reply not posted", message="Write a reply first, then post it.")
        posted_with = self.store.spent_nonce(parsed.nonce)  # the key of the one reply this link posted
        claim = None
        if posted_with is None:
            claim = self.store.claim_nonce(parsed.nonce, parsed.expires_at, NONCE_LEASE_SECONDS)
        if posted_with != key and claim is None:  # another reply posted (or posting) with this link
            return reply_link_used(stored)
        try:
            outcome = post_reply(stored, actor, text=text, key=key, store=self.store, poster=self.poster)
        except BaseException:
            if claim is not None:
                self._release(parsed.nonce, claim)
            raise
        if not outcome.done:  # said in words, for the owner; the same key can be sent again safely
            if claim is not None:
                self._release(parsed.nonce, claim)
            self.store.audit(parsed.mention_key, "reply", parsed.recipient, f"not posted: {outcome.said}", key)
            return composer_page(stored, self.config, form_action, text=text, key=key, status=502,
                                 title="Reply not posted", message=outcome.detail)
        if claim is not None:
            self.store.spend_nonce(parsed.nonce, claim, bound_to=key)
        url = outcome.reply.url
        links = [("See your reply", url)] if url.startswith("https://") else []
        if outcome.reply.already_posted:  # the same composed reply sent again (a double press, a retry)
            return render(200, "Reply already posted", mention=mention_view(stored), links=links)
        self.store.audit(parsed.mention_key, "reply", parsed.recipient, "posted", key)
        return render(200, "Reply posted", mention=mention_view(stored), message=outcome.detail, links=links)

    def _do(self, parsed: ActionToken, target: Target, prefix: str, form: bytes,
            assignee: Recipient | None) -> tuple[Page, str]:
        """Do a single-use action through its module; (the page, the audit's result)."""
        actor, rule = target.actor, target.rule
        if parsed.action == "raise_cap" and rule is not None:
            outcome = raise_cap(rule, actor, store=self.store, clock=self.store.clock)
            return render(200, "Daily cap raised", message=outcome.detail), outcome.said
        if parsed.action == "exclude" and rule is not None:
            outcome = exclude(rule, target.term, actor, store=self.store)
            return render(200, "Exclusion added", message=outcome.detail), outcome.said
        stored = target.mention
        assert stored is not None
        outcome, page = self._do_to_mention(parsed, stored, actor, prefix, form, assignee)
        if outcome.status == "gone":
            return render(404, "Not found", message=outcome.detail), outcome.said
        return page(), outcome.said

    def _do_to_mention(self, parsed: ActionToken, stored: StoredMention, actor: Recipient, prefix: str, form: bytes,
                       assignee: Recipient | None) -> tuple[Outcome, Callable[[], Page]]:
        """The action's outcome, and the page that says it (unless the mention is gone)."""
        if assignee is not None:
            outcome = assign(stored, actor, to=assignee, job=f"assign-{parsed.nonce}", config=self.config,
                             store=self.store, signer=self.signer, mailer=self.email, clock=self.store.clock)
            return outcome, lambda: render(200, f"Assigned to {assignee.name}", mention=mention_view(stored),
                                           message=outcome.detail)
        if parsed.action == "snooze":
            seconds, label, again = PERIODS[snooze_period(form)]
            outcome = snooze(stored, actor, seconds=seconds, store=self.store, clock=self.store.clock)
            return replace(outcome, said=f"done: {label}") if outcome.done else outcome, lambda: render(
                200, f"Snoozed for {label}", mention=mention_view(stored), message=f"It will be alerted again {again}.")
        if parsed.action in ("mute_author", "mute_thread"):
            outcome = (mute_author if parsed.action == "mute_author" else mute_thread)(stored, actor, store=self.store)
            if not outcome.done:
                view = mention_view(stored) if parsed.action == "mute_thread" else None
                return outcome, lambda: render(200, "Nothing to mute", mention=view, message=outcome.detail)
            title = "Author muted" if parsed.action == "mute_author" else "Thread muted"
            return _as_done(outcome), lambda: render(200, title, mention=mention_view(stored), message=outcome.detail)
        if parsed.action == "wrong_label":
            choice = chosen_label(form) or ""  # checked before the link was spent
            outcome = _as_done(wrong_label(stored, actor, choice=choice, store=self.store, vip=self.config.vip,
                                           clock=self.store.clock))
            return outcome, lambda: render(200, "Label noted", mention=mention_view(outcome.mention or stored),
                                           message=outcome.detail or f"{outcome.said.capitalize()}.")
        if parsed.action == "unhold":
            outcome = _as_done(unhold(stored, actor, store=self.store))
            return outcome, lambda: render(200, "Back with your new mentions" if outcome.done else "Nothing to do",
                                           mention=mention_view(outcome.mention or stored),
                                           message=outcome.detail if outcome.done
                                           else f"This mention is {outcome.said}.")
        if parsed.action == "handled":
            outcome = _as_done(mark_handled(stored, actor, store=self.store))
            return outcome, lambda: render(200, "Marked as handled", mention=mention_view(outcome.mention or stored))
        outcome = _as_done(mark_not_relevant(stored, actor, store=self.store))
        return outcome, lambda: render(200, "Marked as not relevant", mention=mention_view(outcome.mention or stored),
                                       message="Nothing changes in your rules unless you add one of these exclusions:",
                                       forms=self._suggestions(stored, parsed.recipient, prefix))

    def _suggestions(self, stored: StoredMention, recipient: str, prefix: str) -> list[tuple[str, str]]:
        """(button label, form action) per suggested exclusion (``suggested_exclusions``), each
        a link signed for ``recipient`` saying how many other mentions it would have removed."""
        forms = []
        for found in suggested_exclusions(stored, config=self.config, store=self.store, clock=self.store.clock):
            token = self.signer.sign(f"exclude:{found.rule}:{found.term}", "exclude", recipient)
            label = f"Exclude {found.term} from \u201c{found.rule}\u201d ({removed(found.would_have_removed)})"
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
        page = digest_page(self.config, self.store, parsed, self.signer)
        if page is None:
            log.info("refused a digest token: it names no digest of a configured recipient")
            return invalid_link()
        return page

    def token_for_short_code(self, code: str) -> str | None:
        return self.store.get_short_link(code) if is_short_code(code) else None


def _as_done(outcome: Outcome) -> Outcome:
    """A state change audited as ``done`` (else what it found: already so, gone)."""
    return replace(outcome, said="done") if outcome.done else outcome
