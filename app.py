"""The Chalice app: wiring only. Behaviour lives in chalicelib/ (see ARCHITECTURE.md)."""

from __future__ import annotations

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
    ISO week) when their local digest hour has come."""
    from chalicelib.runtime import runtime

    return {"digests": runtime().digest.run()}


@app.route("/d/{token}", methods=["GET"])
def digest_view(token: str) -> Response:
    """The web view link of a digest email: the same digest as a page (changes nothing)."""
    from chalicelib.runtime import runtime

    return _page(runtime().actions.digest_page(token))


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
