"""Small server-rendered pages for the action links: escaped, no script, strict headers; and the
refusal of a POST another site's page sent."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=lambda: dict(SECURITY_HEADERS))


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render(status: int, title: str, *, message: str = "", mention: dict[str, Any] | None = None,
           form_action: str = "", button: str = "", forms: list[tuple[str, str]] | None = None,
           composer: dict[str, str] | None = None, links: list[tuple[str, str]] | None = None,
           choices: list[tuple[str, str]] | None = None, choice_name: str = "to", checked: str = "") -> Page:
    """A page; ``forms`` are further (button label, POST action) choices under the message;
    ``composer`` a reply form (text, key, limit) or a draft to copy (manual_link);
    ``choices`` (value, label) radio buttons named ``choice_name`` in the confirmation form, the one
    whose value is ``checked`` (else the first) selected."""
    body = _templates().get_template("page.html.j2").render(
        title=title, message=message, mention=mention, form_action=form_action, button=button, forms=forms or [],
        composer=composer, links=links or [], choices=choices or [],
        choice_name=choice_name, checked=checked or (choices[0][0] if choices else ""),
    )
    return Page(status, body)


def invalid_link() -> Page:
    """The one answer to every bad token: it says nothing about why."""
    return render(403, "This link does not work",
                  message="It may have expired or been changed. Open the latest alert email for a fresh link.")


def not_found() -> Page:
    return render(404, "Not found")


ONE_CLICK = {"List-Unsubscribe": ["One-Click"]}  # the body of an RFC 8058 one-click unsubscribe POST


def cross_site_post(headers: Mapping[str, str], *, base_url: str, form: bytes = b"", one_click: bool = False) -> bool:
    """True when a browser says this POST was sent by another site's page (a cross-site form):
    ``Sec-Fetch-Site`` other than same-origin or none, else an ``Origin`` that is neither the
    links' origin (``base_url``) nor the host asked. A POST with neither header comes from no
    browser page (a mail client, a script) and carries nothing but the link. With ``one_click``
    (the unsubscribe route), the RFC 8058 body ``List-Unsubscribe=One-Click`` is allowed from
    anywhere: mail providers send it, and unsubscribing twice does no harm."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if one_click and parse_qs(form.decode("utf-8", "replace")) == ONE_CLICK:
        return False
    site = lowered.get("sec-fetch-site", "").strip().lower()
    if site:
        return site not in ("same-origin", "none")
    origin = lowered.get("origin", "").strip().lower().rstrip("/")
    if not origin:
        return False
    own = urlsplit(base_url)
    host = lowered.get("host", "").strip().lower()
    allowed = {f"{own.scheme}://{own.netloc}".lower(), *(f"{scheme}://{host}" for scheme in ("https", "http") if host)}
    return origin not in allowed
