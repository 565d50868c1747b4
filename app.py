"""The Chalice app: wiring only. Behaviour lives in chalicelib/ (see ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Chalice, Rate, Response

from chalicelib.log_levels import pin_library_loggers

app = Chalice(app_name="social-listening")
pin_library_loggers()  # before any AWS call: botocore's and urllib3's DEBUG lines carry secrets


def _page(page: object) -> Response:
    from chalicelib.web.pages import Page

    assert isinstance(page, Page)
    return Response(body=page.body, status_code=page.status, headers=page.headers)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="poll")
def poll(event: object) -> dict[str, object]:
    """Every minute: fetch what is due, store what is new, alert once."""
    import uuid

    from chalicelib.observability import log_cycle, logger, publish_cycle
    from chalicelib.runtime import runtime

    logger().append_keys(cycle_id=uuid.uuid4().hex)  # the correlation id of everything this cycle logs
    report = runtime().pipeline.run_cycle()
    log_cycle(report)
    publish_cycle(report)
    return {"tasks": report.tasks_run, "new": report.new_mentions, "errors": report.errors}


@app.lambda_function(name="ses_feedback")
def ses_feedback(event: dict, context: object) -> dict[str, object]:
    """Subscribed (by infra/) to the SES feedback topic: bounces and complaints suppress addresses."""
    from chalicelib.feedback import handle_sns_event
    from chalicelib.runtime import runtime

    return {"suppressed": len(handle_sns_event(event, runtime().store))}


@app.lambda_function(name="inbound_sms")
def inbound_sms(event: dict, context: object) -> dict[str, object]:
    """Subscribed (by infra/) to the two-way SMS topic: OK, SNOOZE, MUTE, REPLY, HELP <code>."""
    import time

    from chalicelib.runtime import runtime
    from chalicelib.sms_commands import handle_sns_event

    parts = runtime()
    outcomes = handle_sns_event(event, config=parts.config, store=parts.store, signer=parts.actions.signer,
                                clock=time.time, answer=parts.sms.send_text, poster=parts.actions.poster)
    return {"handled": len(outcomes)}


@app.route("/a/{token}", methods=["GET"])
def confirm_action(token: str) -> Response:
    """An action link opened: show the mention and a confirmation button (changes nothing)."""
    from chalicelib.runtime import runtime

    return _page(runtime().actions.confirm_page(token, form_action=f"{_prefix()}/a/{token}"))


@app.route("/a/{token}", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def perform_action(token: str) -> Response:
    """The confirmation button: perform the action once."""
    from chalicelib.runtime import runtime

    request = app.current_request
    return _page(runtime().actions.perform(token, prefix=_prefix(), form=request.raw_body if request else b"",
                                           headers=request.headers if request else {}))


@app.route("/s/{code}", methods=["GET"])
def short_link(code: str) -> Response:
    """A short link from an SMS: the same confirmation page as the long link."""
    from chalicelib.runtime import runtime
    from chalicelib.web.pages import invalid_link

    token = runtime().actions.token_for_short_code(code)
    if token is None:
        return _page(invalid_link())
    listed = _inbox_pages().alert_list_page(token, prefix=_prefix())  # an SMS of several mentions: all of them
    if listed is not None:
        return _page(listed)
    return _page(runtime().actions.confirm_page(token, form_action=f"{_prefix()}/a/{token}"))


@app.route("/u/{token}", methods=["GET"])
def confirm_unsubscribe(token: str) -> Response:
    """The Unsubscribe link of an alert email, opened: a confirmation button."""
    from chalicelib.runtime import runtime

    return _page(runtime().actions.confirm_page(token, form_action=f"{_prefix()}/u/{token}", route="u"))


@app.route("/u/{token}", methods=["POST"], content_types=["application/x-www-form-urlencoded"])
def unsubscribe(token: str) -> Response:
    """One-click unsubscribe (RFC 8058: mail clients POST List-Unsubscribe=One-Click)."""
    from chalicelib.runtime import runtime

    request = app.current_request
    return _page(runtime().actions.perform(token, form=request.raw_body if request else b"", route="u",
                                           headers=request.headers if request else {}))


@app.schedule(Rate(1, unit=Rate.HOURS), name="digest")
def digest(event: object) -> dict[str, object]:
    """Every hour: each recipient's daily digest (once a day) and weekly digest (on their weekday, once per
    ISO week) when their local digest hour has come; then a bounded step of putting mentions stored before
    the inbox index into it (``Store.backfill_inbox``: one read once it is done)."""
    from dataclasses import asdict

    from chalicelib.runtime import runtime

    return {"digests": runtime().digest.run(), "inbox_backfill": asdict(runtime().store.backfill_inbox())}


@app.route("/d/{token}", methods=["GET"])
def digest_view(token: str) -> Response:
    """The web view link of a digest email: the same digest as a page (changes nothing)."""
    from chalicelib.runtime import runtime

    return _page(runtime().actions.digest_page(token))


FORM = ["application/x-www-form-urlencoded"]


def _request() -> tuple[bytes, dict[str, str]]:
    request = app.current_request
    return (request.raw_body or b"", dict(request.headers)) if request else (b"", {})


def _with_cookie(page: object, cookie: str | None) -> Response:
    response = _page(page)
    if cookie:
        response.headers["Set-Cookie"] = cookie
    return response


@app.route("/in/sign-in", methods=["GET"])
def sign_in_form() -> Response:
    """The inbox's sign-in form: an email address, for a magic link."""
    from chalicelib.runtime import runtime

    query = app.current_request.query_params if app.current_request else None
    return _page(runtime().sessions.sign_in_page(prefix=_prefix(), next_path=(query or {}).get("next", "")))


@app.route("/in/sign-in", methods=["POST"], content_types=FORM)
def sign_in_request() -> Response:
    """Email a sign-in link (the same answer for every address; rate-limited)."""
    from chalicelib.runtime import runtime
    from chalicelib.web.session import form_values

    body, headers = _request()
    form = form_values(body)
    context = app.current_request.context if app.current_request else {}
    source_ip = str((context.get("identity") or {}).get("sourceIp", ""))
    return _page(runtime().sessions.request_link(form.get("address", ""), source_ip, next_path=form.get("next", ""),
                                                 prefix=_prefix(), headers=headers))


@app.route("/in/link/{token}", methods=["GET"])
def sign_in_link(token: str) -> Response:
    """A sign-in link opened: a button only (mail scanners open links)."""
    from chalicelib.runtime import runtime

    return _page(runtime().sessions.link_page(token, prefix=_prefix()))


@app.route("/in/link/{token}", methods=["POST"], content_types=FORM)
def sign_in_confirm(token: str) -> Response:
    """The sign-in button: spend the link once, set the session cookie."""
    from chalicelib.runtime import runtime

    body, headers = _request()
    page, cookie = runtime().sessions.consume_link(token, body, prefix=_prefix(), headers=headers)
    return _with_cookie(page, cookie)


@app.route("/in/sign-out", methods=["POST"], content_types=FORM)
def sign_out() -> Response:
    """End this session."""
    return _sign_out(everywhere=False)


@app.route("/in/sign-out-everywhere", methods=["POST"], content_types=FORM)
def sign_out_everywhere() -> Response:
    """End every session of the signed-in address."""
    return _sign_out(everywhere=True)


def _sign_out(*, everywhere: bool) -> Response:
    from chalicelib.runtime import runtime
    from chalicelib.web.session import Viewer

    sessions = runtime().sessions
    body, headers = _request()
    viewer = sessions.checked_post(headers, body, prefix=_prefix())
    if not isinstance(viewer, Viewer):
        return _page(viewer)
    page, cookie = (sessions.sign_out_everywhere if everywhere else sessions.sign_out)(viewer, prefix=_prefix())
    return _with_cookie(page, cookie)


@app.route("/in", methods=["GET"])  # API Gateway and chalice local drop the trailing slash of /in/
def inbox() -> Response:
    """The inbox: mentions by state, priority and time, filtered by the query parameters."""
    return _signed_in("/in/", lambda pages, viewer: pages.list_page(viewer, _query(), prefix=_prefix()))


@app.route("/in/m/{key}", methods=["GET"])
def inbox_mention(key: str) -> Response:
    """One mention: its actions, the reply composer and its activity."""
    return _signed_in(f"/in/m/{key}", lambda pages, viewer: pages.mention_page(viewer, key, prefix=_prefix()))


@app.route("/in/bulk", methods=["POST"], content_types=FORM)
def inbox_bulk() -> Response:
    """Handled, snooze or mute author for the checked mentions (the session's CSRF token checked)."""
    from chalicelib.runtime import runtime
    from chalicelib.web.forms import form_fields
    from chalicelib.web.session import Viewer

    body, headers = _request()
    viewer = runtime().sessions.checked_post(headers, body, prefix=_prefix())
    if not isinstance(viewer, Viewer):
        return _page(viewer)
    return _page(_inbox_pages().bulk(_viewed(viewer), form_fields(body), prefix=_prefix()))


@app.route("/in/rules", methods=["GET"])
def inbox_rules() -> Response:
    """Each rule's mentions this week and its not-relevant rate."""
    return _signed_in("/in/rules", lambda pages, viewer: pages.rules_page(viewer, prefix=_prefix()))


@app.route("/in/health", methods=["GET"])
def inbox_health() -> Response:
    """Each network's state in words."""
    return _signed_in("/in/health", lambda pages, viewer: pages.health_page(viewer, prefix=_prefix()))


@app.route("/in/deliveries", methods=["GET"])
def inbox_deliveries() -> Response:
    """The alerts that failed or may not have arrived, with what they held."""
    return _signed_in("/in/deliveries", lambda pages, viewer: pages.deliveries_page(viewer, prefix=_prefix()))


def _query() -> dict[str, str]:
    request = app.current_request
    return dict(request.query_params or {}) if request else {}


def _inbox_pages() -> Any:
    import time

    from chalicelib.runtime import runtime
    from chalicelib.web.inbox import InboxPages

    parts = runtime()
    return InboxPages(parts.config, parts.store, parts.actions.signer, time.time)


def _viewed(viewer: Any) -> Any:
    from chalicelib.web.inbox import Viewed

    return Viewed(viewer.name, viewer.csrf, viewer.address)


def _signed_in(path: str, page: Callable[[Any, Any], object]) -> Response:
    """The page for the session's recipient; without a session, 303 to the sign-in form, back here after."""
    from urllib.parse import urlencode

    from chalicelib.runtime import runtime
    from chalicelib.web.session import redirect

    _, headers = _request()
    viewer = runtime().sessions.viewer(headers)
    if viewer is None:
        query = urlencode(sorted(_query().items()))
        if path == "/in/" and not query:  # the inbox's own address: the sign-in form, as the 303 would show
            return _page(runtime().sessions.sign_in_page(prefix=_prefix()))
        back = f"{path}?{query}" if query else path
        return _page(redirect(f"{_prefix()}/in/sign-in?{urlencode({'next': back})}"))
    return _page(page(_inbox_pages(), _viewed(viewer)))
@app.route("/hooks/{network}", methods=["GET"])
def webhook_verify(network: str) -> Response:
    """Meta's subscription handshake for the network's webhooks (chalicelib/webhooks/service.py)."""
    from chalicelib.runtime import runtime

    request = app.current_request
    return _answer(runtime().hooks.verify(network, request.query_params if request else None))


@app.route("/hooks/{network}", methods=["POST"], content_types=["application/json"])
def webhook_deliver(network: str) -> Response:
    """A webhook delivery: signature first, then stored once and alerted in this invocation."""
    from chalicelib.runtime import runtime

    request = app.current_request
    return _answer(runtime().hooks.deliver(network, request.raw_body if request else b"",
                                           request.headers if request else {}))


def _answer(answer: object) -> Response:
    from chalicelib.webhooks.service import HookAnswer

    assert isinstance(answer, HookAnswer)
    return Response(body=answer.body, status_code=answer.status, headers=answer.headers)


def _prefix() -> str:
    """The API Gateway stage path (e.g. /api) so the form posts back to the same place."""
    context = app.current_request.context if app.current_request else {}
    stage = context.get("stage", "")
    return f"/{stage}" if stage and context.get("domainName", "").endswith("amazonaws.com") else ""
