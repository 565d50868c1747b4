"""Notices about the listening itself: a network that keeps failing (and works again), one
that answers but has returned nothing for longer than expected (and returns data again),
and a spike in a rule group's volume."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from email.message import EmailMessage

from chalicelib.alerts import network_name
from chalicelib.alerts.email import set_headers, unfolded
from chalicelib.sources.base import BadPayload, CredentialsError, RateLimited, SourceError, Unavailable
from chalicelib.text import one_line, shown_text


def _notice(business: str, from_address: str, to_name: str, to_address: str, subject: str,
            body: str) -> EmailMessage:
    message = set_headers(EmailMessage(), subject=subject, business=business, from_address=from_address,
                          to=(to_name, to_address))
    message.set_content(shown_text(body) + "\n")  # a connector's error may quote what the network said
    return unfolded(message)


def compose_spike_notice(*, business: str, from_address: str, to_name: str, to_address: str, group: str,
                         count: int, usual: float) -> EmailMessage:
    """A rule group's volume this hour is far above the same hour on the days before."""
    what = {"brand": "your brand", "product": "your products", "competitor": "your competitors",
            "industry": "your industry"}.get(group, group)
    subject = f"{one_line(business, 60)} listening: spike in mentions of {what} ({count} this hour)"
    body = (f"{count} mentions of {what} this hour; usually about {usual:.0f} at this hour.\n\n"
            "Something is going on: the alert emails of this hour list them, most important first.")
    return _notice(business, from_address, to_name, to_address, subject, body)


def compose_health_notice(*, business: str, from_address: str, to_name: str, to_address: str, network: str,
                          down: bool, error: str | None, failures: int, cause: SourceError | None = None,
                          retry_at: float | None = None, timezone: str = "UTC",
                          now: float | None = None) -> EmailMessage:
    """The notice for one recipient: first what happened and what we do, in plain words
    (``plain_failure``), then the connector's message (``error``) as the detail."""
    name = network_name(network)
    if down:
        subject = f"{one_line(business, 60)} listening: {name} is failing ({failures} times in a row)"
        detail = (error or "unknown").removeprefix(f"{network}: ")
        body = (f"{plain_failure(name, cause, retry_at, timezone, now)}\n\n"
                f"{name} could not be read {failures} times in a row. What it said:\n\n"
                f"    {one_line(detail, 300)}\n\n"
                f"Mentions on {name} are not lost: the next successful poll fetches everything since the last "
                f"one. You will get one more email when {name} works again.")
    else:
        subject = f"{one_line(business, 60)} listening: {name} works again"
        body = f"{name} answered again; mentions since the outage are being fetched now."
    return _notice(business, from_address, to_name, to_address, subject, body)


def plain_failure(name: str, cause: SourceError | None, retry_at: float | None, timezone: str = "UTC",
                  now: float | None = None) -> str:
    """Why a network could not be read and what happens next, as the owner would say it:
    "Stack Exchange asked us to slow down; we try again at 10:15 (WET)." ``retry_at`` (unix
    time) is shown in the recipient's ``timezone``, with the day when it is not today."""
    when = _local_time(retry_at, timezone, now) if retry_at else None
    again = f"we try again at {when}" if when else "we try again every minute"
    if isinstance(cause, RateLimited):
        return f"{name} asked us to slow down; {again}."
    if isinstance(cause, CredentialsError):
        return (f"{name} did not accept our credentials, or one is missing: run `make secrets` to add a missing "
                f"one, or put a new token in its SSM parameter; {again}.")
    if isinstance(cause, BadPayload):
        return f"{name} answered with something we could not read (it may have changed its API); {again}."
    if isinstance(cause, Unavailable):
        return f"{name} did not answer, or answered with a server error; {again}."
    return f"{name} could not be read; {again}."


def _local_time(at: float, timezone: str, now: float | None) -> str:
    zone = zoneinfo.ZoneInfo(timezone)
    local = dt.datetime.fromtimestamp(at, tz=zone)
    today = dt.datetime.fromtimestamp(time.time() if now is None else now, tz=zone).date()
    shown = local.strftime("%H:%M") if local.date() == today else local.strftime("%a %d %b %H:%M")
    return f"{shown} ({local.strftime('%Z')})"


def _duration(seconds: float) -> str:
    """"5 hours", "3 days": how long, in the unit people would say it."""
    hours = seconds / 3600
    if hours < 48:
        whole = max(1, round(hours))
        return f"{whole} hour{'s' if whole != 1 else ''}"
    days = round(hours / 24)
    return f"{days} days"


def compose_silence_notice(*, business: str, from_address: str, to_name: str, to_address: str, network: str,
                           silent_seconds: float, expected_hours: float | None, data_again: bool) -> EmailMessage:
    """A network that answers but has returned nothing for longer than expected (``data_again``
    False), or returns items again after such a silence (True). ``silent_seconds``: how long
    nothing came; ``expected_hours``: the period it was measured against."""
    name = network_name(network)
    quiet = _duration(silent_seconds)
    if data_again:
        subject = f"{one_line(business, 60)} listening: {name} returns data again"
        body = (f"{name} returned new items again after {quiet} without any. Nothing to do: "
                "listening there is back to normal.")
        return _notice(business, from_address, to_name, to_address, subject, body)
    expected = _duration((expected_hours or 0) * 3600)
    subject = f"{one_line(business, 60)} listening: nothing from {name} for {quiet}"
    body = (f"{name} answers every poll without an error, but has returned nothing for {quiet}; "
            f"usually something comes within {expected}.\n\n"
            "It may mean:\n"
            f"  - {name} changed its API or its feed, and what it sends is no longer what we read;\n"
            "  - a feed stopped updating (an alert deleted, a feed URL that moved);\n"
            "  - a token lost a permission, so searches come back empty instead of failing;\n"
            "  - or simply a quiet spell.\n\n"
            "What to check:\n"
            f"  - open {name} and look for your terms yourself: if you see new posts, listening is broken;\n"
            "  - the feed URLs and the tokens' permissions for this network in listen.yaml and SSM;\n"
            f"  - if quiet spells this long are normal here, raise networks.{network}.expect_data_within_hours in "
            "listen.yaml (0 turns this check off).\n\n"
            f"You will get one more email when {name} returns data again.")
    return _notice(business, from_address, to_name, to_address, subject, body)


def compose_token_notice(*, business: str, from_address: str, to_name: str, to_address: str, network: str,
                         words: str) -> EmailMessage:
    """A network's token can no longer be used soon: ``words`` (the connector's) say what to run
    and before when."""
    name = network_name(network)
    subject = f"{one_line(business, 60)} listening: reconnect {name} within a week"
    body = (f"{one_line(words, 300)}.\n\n"
            f"After that day {name} can no longer be read or answered from here, until it is reconnected; "
            "listening then picks up where it stopped.")
    return _notice(business, from_address, to_name, to_address, subject, body)
