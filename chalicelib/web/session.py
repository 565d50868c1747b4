"""Signing in to the inbox: magic links by email, server-side sessions, CSRF tokens.

- A configured recipient (``recipients`` with an ``email`` in listen.yaml, compared casefolded)
  asks for a link on ``/in/sign-in``; every address gets the same answer, and only a recipient's
  gets an email (at most ``ADDRESS_REQUESTS`` per address and ``IP_REQUESTS`` per IP address a
  ``WINDOW_SECONDS`` window; past that the answer is the same and nothing is sent).
- The link (``/in/link/<token>``, 32 random bytes) works once, within ``LINK_SECONDS``; opening
  it (GET, as mail scanners do) shows a button only; pressing it (POST) spends it and starts a
  session. Only the SHA-256 of a token or a session id is stored.
- The session cookie ``__Host-listen_session`` (``Secure; HttpOnly; SameSite=Lax; Path=/``) holds
  the session id; the session ends ``SESSION_SECONDS`` after sign-in, or ``IDLE_SECONDS`` after
  its last use (refreshed at most once per ``REFRESH_SECONDS``), or when signed out (one device,
  or everywhere).
- Every POST of a session carries ``csrf``: a hash of the session id (never stored, never the id
  itself), compared in constant time; and a POST another site's page sent is refused
  (``cross_site_post``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from markupsafe import Markup
from pydantic import TypeAdapter, ValidationError

from chalicelib.config import Email, ListenConfig, Recipient
from chalicelib.store.protocol import StoreProtocol
from chalicelib.web.forms import form_fields
from chalicelib.web.pages import SECURITY_HEADERS, Page, _templates, cross_site_post

log = logging.getLogger(__name__)

COOKIE_NAME = "__Host-listen_session"
LINK_SECONDS = 15 * 60  # a magic link works this long after it was sent
SESSION_SECONDS = 30 * 86400  # absolute: a session ends this long after sign-in
IDLE_SECONDS = 7 * 86400  # a session unused this long ends
REFRESH_SECONDS = 3600  # the idle expiry is pushed at most once per this (one write an hour of use)
WINDOW_SECONDS = 3600  # the sign-in form's rate-limit window
ADDRESS_REQUESTS = 5  # links asked for one address per window; more are answered the same, unsent
IP_REQUESTS = 20  # links asked from one IP address per window
HOME = "/in/"
NOT_MAILED = ("bounced", "complained")  # suppressions a sign-in link is not sent past (an unsubscribe is from alerts)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_NEXT = re.compile(r"/in/[A-Za-z0-9/_.~%?&=+-]{0,500}")
_EMAIL = TypeAdapter(Email)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a request's session belongs to: ``address`` (casefolded), the recipient's ``name``, the
    hash of the session id (what the store knows it by) and ``csrf``, the token its forms carry."""

    address: str
    name: str
    session_id_hash: str
    csrf: str


def _hash(secret: str) -> str:
    """What the store keeps of a token or a session id: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _csrf(session_id: str) -> str:
    """The session's CSRF token: derived from its id (another hash than the stored one), so it
    needs no storage and no one without the cookie can make it."""
    digest = hashlib.sha256(b"csrf\0" + session_id.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def csrf_field(viewer: Viewer) -> Markup:
    """The hidden input every form of a signed-in page carries."""
    return Markup('<input type="hidden" name="csrf" value="{}">').format(viewer.csrf)


def form_values(form: bytes) -> dict[str, str]:
    """An urlencoded body as field -> value; a field given more than once is dropped (never guessed)."""
    return {name: values[0] for name, values in form_fields(form).items() if len(values) == 1}


def safe_next(path: str) -> str:
    """``path`` if it is a path of the inbox (``/in/...``, no scheme, no host, no ``//``, no ``..``); else ``/in/``."""
    if _NEXT.fullmatch(path) and "//" not in path and ".." not in path and "\\" not in path:
        return path
    return HOME


def session_cookie(session_id: str, max_age: int) -> str:
    return f"{COOKIE_NAME}={session_id}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"


CLEARED_COOKIE = session_cookie("", 0)


def _cookie_ids(headers: Mapping[str, str]) -> list[str]:
    """The well-formed session ids of the request's Cookie header(s), in order."""
    raw = "; ".join(str(v) for k, v in headers.items() if str(k).lower() == "cookie")
    found = []
    for part in raw.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE_NAME and _TOKEN.fullmatch(value.strip().strip('"')):
            found.append(value.strip().strip('"'))
    return found


def render(status: int, title: str, *, message: str = "", sign_in: dict[str, str] | None = None,
           session_forms: list[tuple[str, str]] | None = None, csrf: str = "", form_action: str = "",
           button: str = "", headers: Mapping[str, str] | None = None) -> Page:
    """A sign-in page (the action pages' look): the address form, or session buttons carrying ``csrf``."""
    body = _templates().get_template("signin.html.j2").render(
        title=title, message=message, mention=None, form_action=form_action, button=button, forms=[],
        composer=None, links=[], choices=[], choice_name="", checked="", sign_in=sign_in,
        session_forms=session_forms or [], csrf=csrf)
    return Page(status, body, {**SECURITY_HEADERS, **(headers or {})})


def _cross_site() -> Page:
    return render(403, "Refused", message="This form was sent from another site. Open the inbox and try again.")


def redirect(location: str) -> Page:
    """A 303 to one of our own paths (the browser GETs it)."""
    return render(303, "Signed in", message="Continue to the inbox.", headers={"Location": location})


class Sessions:
    """Sign-in, sessions and CSRF for the inbox's routes. ``store`` keeps links and sessions;
    ``email`` (``chalicelib.alerts.email.EmailChannel``, None: no email) sends the links; ``clock``
    (default: the store's, which judges the expiries) dates them."""

    def __init__(self, config: ListenConfig, store: StoreProtocol, *, email: Any = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self.store = store
        self.email = email
        self.clock = store.clock if clock is None else clock

    # --- who is asking ---------------------------------------------------------------

    def recipient(self, address: str) -> Recipient | None:
        """The configured recipient with this email address (casefolded), if any."""
        folded = address.casefold()
        return next((r for r in self.config.recipients if r.email and r.email.casefold() == folded), None)

    def viewer(self, headers: Mapping[str, str]) -> Viewer | None:
        """The signed-in recipient of the request's session cookie; None when there is none, or it
        is unknown, expired, revoked, or its address is no longer a recipient's."""
        for session_id in _cookie_ids(headers):
            id_hash = _hash(session_id)
            record = self.store.get_session(id_hash)
            if record is None:
                continue
            recipient = self.recipient(record.address)
            if recipient is None:
                continue
            now = int(self.clock())
            if now - record.seen_at >= REFRESH_SECONDS and not self.store.touch_session(
                    id_hash, min(now + IDLE_SECONDS, record.expires_at)):
                continue
            return Viewer(record.address, recipient.name, id_hash, _csrf(session_id))
        return None

    def csrf_ok(self, viewer: Viewer, form: Mapping[str, str]) -> bool:
        """The form carries this session's CSRF token (compared in constant time)."""
        given = form.get("csrf", "")
        return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8", "replace"),
                                                             viewer.csrf.encode("ascii"))

    def checked_post(self, headers: Mapping[str, str], form: bytes, *, prefix: str = "") -> Viewer | Page:
        """A session's POST: the viewer when it is signed in, same-site and carries the session's
        CSRF token; else the page that refuses it (403; nothing was changed)."""
        if cross_site_post(headers, base_url=self.config.alerts.action_base_url):
            log.info("refused an inbox POST: sent from another site")
            return _cross_site()
        viewer = self.viewer(headers)
        if viewer is None:
            return render(403, "Signed out", message="Your session has ended. Sign in again.",
                          sign_in={"action": f"{prefix}/in/sign-in", "address": "", "next": ""})
        if not self.csrf_ok(viewer, form_values(form)):
            log.info("refused an inbox POST: no or a wrong CSRF token")
            return render(403, "Refused", message="This form is out of date. Reload the page and try again.")
        return viewer

    # --- signing in ----------------------------------------------------------------------

    def sign_in_page(self, *, prefix: str = "", next_path: str = "", message: str = "", address: str = "",
                     status: int = 200) -> Page:
        """GET /in/sign-in: the address form (posting back with the safe ``next`` path)."""
        nxt = safe_next(next_path) if next_path else ""
        return render(status, "Sign in", message=message or "We email you a link that signs you in.",
                      sign_in={"action": f"{prefix}/in/sign-in", "address": address,
                               "next": "" if nxt == HOME else nxt})

    def request_link(self, address: str, source_ip: str, *, next_path: str = "", prefix: str = "",
                     headers: Mapping[str, str] | None = None) -> Page:
        """POST /in/sign-in: email a magic link to ``address`` if it is a recipient's and within the
        rate limits. The answer is the same whoever asks (a malformed address is asked again); a
        POST another site's page sent is refused (403) before anything is counted or sent."""
        if headers is not None and cross_site_post(headers, base_url=self.config.alerts.action_base_url):
            log.info("refused a sign-in request: sent from another site")
            return _cross_site()
        address = address.strip()
        try:
            _EMAIL.validate_python(address)
            valid = len(address) <= 254
        except ValidationError:
            valid = False
        if not valid:
            return self.sign_in_page(prefix=prefix, next_path=next_path, status=400,
                                     message="Enter an email address such as you@example.com.")
        folded = address.casefold()
        window = str(int(self.clock()) // WINDOW_SECONDS)
        by_address = self.store.count_sign_in_request(f"address:{folded}", window)
        by_ip = self.store.count_sign_in_request(f"ip:{source_ip or '-'}", window)
        recipient = self.recipient(folded)
        if by_address > ADDRESS_REQUESTS or by_ip > IP_REQUESTS:
            log.info("sign-in link not sent: too many requests in this window (%s)",
                     "address" if by_address > ADDRESS_REQUESTS else "IP address")
        elif recipient is None:
            log.info("sign-in link not sent: the address is no recipient's")
        elif (held := self.store.suppressed().get(folded)) in NOT_MAILED:
            log.warning("sign-in link not sent to %s: their address %s", recipient.name, held)
        else:
            self._send_link(recipient, safe_next(next_path))
        return render(200, "Check your email",
                      message=f"If {address} is a recipient of {self.config.business.name}'s alerts, a sign-in link "
                              f"is on its way. It works once, within {LINK_SECONDS // 60} minutes.")

    def _send_link(self, recipient: Recipient, next_path: str) -> None:
        token = secrets.token_urlsafe(32)
        assert recipient.email is not None
        self.store.put_sign_in_link(_hash(token), recipient.email.casefold(), next_path,
                                    int(self.clock()) + LINK_SECONDS)
        if self.email is None:
            log.warning("sign-in link not sent: this service sends no email here")
            return
        message = sign_in_email(recipient, f"{self.config.alerts.action_base_url}/in/link/{token}",
                                business=self.email.business, from_address=self.email.from_address)
        try:
            self.email.send_message(message, recipient.email)
        except Exception as err:  # the answer stays the same; the owner sees why in the log
            log.warning("sign-in link to %s not sent: %s", recipient.name, type(err).__name__)
            return
        log.info("sign-in link sent to %s", recipient.name)

    def link_page(self, token: str, *, prefix: str = "") -> Page:
        """GET /in/link/{token}: a button that signs in (opening the link changes nothing)."""
        if not _TOKEN.fullmatch(token) or self.store.sign_in_link(_hash(token)) is None:
            return self._bad_link(prefix)
        return render(200, "Sign in?", message="Press the button to sign in on this device.",
                      form_action=f"{prefix}/in/link/{token}", button="Sign in")

    def consume_link(self, token: str, form: Mapping[str, str] | bytes = b"", *, prefix: str = "",
                     headers: Mapping[str, str] | None = None) -> tuple[Page, str | None]:
        """POST /in/link/{token}: spend the link (once) and start a session: (a redirect to the
        link's ``next`` path or the inbox, the Set-Cookie value); a used, expired or unknown link,
        or a POST from another site, gets a 403 page and no cookie."""
        if headers is not None and cross_site_post(headers, base_url=self.config.alerts.action_base_url):
            log.info("refused a sign-in POST: sent from another site")
            return _cross_site(), None
        taken = self.store.take_sign_in_link(_hash(token)) if _TOKEN.fullmatch(token) else None
        recipient = self.recipient(taken[0]) if taken is not None else None
        if taken is None or recipient is None:
            log.info("refused a sign-in link: unknown, used, expired or no longer a recipient's")
            return self._bad_link(prefix), None
        session_id = secrets.token_urlsafe(32)
        now = int(self.clock())
        self.store.put_session(_hash(session_id), taken[0], now + SESSION_SECONDS, now + IDLE_SECONDS)
        log.info("%s signed in", recipient.name)
        return redirect(f"{prefix}{safe_next(taken[1])}"), session_cookie(session_id, SESSION_SECONDS)

    def _bad_link(self, prefix: str) -> Page:
        return render(403, "This sign-in link does not work",
                      message=f"A sign-in link works once, within {LINK_SECONDS // 60} minutes. Ask for a new one.",
                      sign_in={"action": f"{prefix}/in/sign-in", "address": "", "next": ""})

    # --- signing out -------------------------------------------------------------------------

    def sign_out(self, viewer: Viewer, *, prefix: str = "") -> tuple[Page, str]:
        """End this session: (the sign-in page, the Set-Cookie value that clears the cookie)."""
        self.store.delete_session(viewer.session_id_hash, viewer.address)
        log.info("%s signed out", viewer.name)
        return self.sign_in_page(prefix=prefix, message="You are signed out."), CLEARED_COOKIE

    def sign_out_everywhere(self, viewer: Viewer, *, prefix: str = "") -> tuple[Page, str]:
        """End every session of the viewer's address, on every device."""
        ended = self.store.delete_sessions(viewer.address)
        self.store.delete_session(viewer.session_id_hash, viewer.address)  # listed or not, this one ends
        log.info("%s signed out everywhere (%d sessions)", viewer.name, ended)
        return self.sign_in_page(prefix=prefix, message="You are signed out on every device."), CLEARED_COOKIE


def sign_in_email(recipient: Recipient, link: str, *, business: str, from_address: str) -> EmailMessage:
    """The magic-link email (text only): every header through ``header_text`` (``set_headers``)."""
    from chalicelib.alerts.email import set_headers, unfolded

    assert recipient.email is not None
    message = EmailMessage()
    set_headers(message, subject=f"Sign in to the {business} inbox", business=business, from_address=from_address,
                to=(recipient.name, recipient.email))
    message.set_content(
        f"Hi {recipient.name},\n\nOpen this link to sign in to the {business} inbox:\n\n{link}\n\n"
        f"It works once, within {LINK_SECONDS // 60} minutes. If you did not ask for it, ignore this email: "
        "nothing happens unless the link is opened and its button pressed.\n")
    return unfolded(message)
