"""Around the fetch: each network's health, and the owner told once of every change.

Invariants:
- a failing network's failures are counted on its health record with the error in words and
  when to try it again (a 429's ``Retry-After``, a bad credential in 15 minutes); at
  ``alerts.health_failures`` in a row every recipient is told once, and once more when it
  answers again (a conditional write of the state told decides who tells);
- a network that answers is recorded at most hourly while healthy (when data last came at
  most hourly too, or a quarter of its expected period if shorter): a quiet cycle writes
  nothing;
- a network that answers but returns nothing for longer than expected is told once as
  silent, and once when data comes again; a failing network is told as failing only;
- notices go through the one delivery path (``chalicelib.alerts.delivery.notify``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from email.message import EmailMessage

from chalicelib.alerts.delivery import notify
from chalicelib.cycle.context import Cycle
from chalicelib.model import Health
from chalicelib.sources.base import CredentialsError, RateLimited, SourceError

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 60.0  # a 429 that does not say how long
CREDENTIALS_RETRY_AFTER = 900.0  # a bad credential: try again in 15 minutes, not every minute
HEALTH_REFRESH_SECONDS = 3600.0  # a healthy network's "last success" is written at most this often


def silence_change(*, now: float, last_data_at: float | None, watching_since: float | None,
                   expected_hours: float | None, told: str | None, told_at: float | None,
                   failing: bool) -> str | None:
    """What to tell the owner about a network that answers but may return nothing.

    In: ``now``, when it last returned at least one item (``last_data_at``, None: never),
    when the silence clock started (``watching_since``: its first successful poll, or the
    first after an outage; a new installation does not count from the epoch), the period it
    is expected to return something within (``expected_hours``; None or 0: never told),
    what was told last (``told``: None, "silent" or "data again") and when (``told_at``),
    and whether it is failing (then it is told as failing only).
    Out: "silent" (nothing for longer than the period), "data again" (items came after
    "silent" was told), or None (nothing to tell). Each change is told once: the caller
    records it with a conditional write.
    """
    if failing:
        return None
    if told == "silent":
        came_since = last_data_at is not None and (told_at is None or last_data_at > told_at)
        return "data again" if came_since else None
    if not expected_hours:
        return None
    since = max((t for t in (last_data_at, watching_since) if t is not None), default=None)
    if since is None:
        return None
    return "silent" if now - since > expected_hours * 3600 else None


def expected_data_hours(cycle: Cycle, network: str) -> float | None:
    """Hours the network should return something within: the owner's
    ``expect_data_within_hours``, else the connector's default; None when not checked."""
    options = cycle.config.networks.get(network)
    hours = options.expect_data_within_hours if options is not None else None
    if hours is None:
        hours = cycle.sources[network].capabilities.expected_data_hours
    return hours or None


def retry_after(err: SourceError) -> float:
    """Seconds before a failed network is tried again (0: the next cycle)."""
    if isinstance(err, RateLimited):
        return err.retry_after if err.retry_after is not None else DEFAULT_RETRY_AFTER
    if isinstance(err, CredentialsError):
        return CREDENTIALS_RETRY_AFTER
    return 0.0


def record_failures(cycle: Cycle, errors: Mapping[str, SourceError]) -> None:
    """Record each failed network's error; tell the owner when it has failed often enough."""
    now = cycle.clock()
    for network, err in errors.items():
        wait = retry_after(err)
        failures = cycle.store.record_failure(network, str(err), now + wait if wait else 0.0)
        cycle.report.errors[network] = str(err)
        log.warning("network failed: %s", err)
        if failures >= cycle.config.alerts.health_failures and cycle.store.tell_health(network, "down"):
            tell_owner(cycle, network, down=True, error=str(err), failures=failures, cause=err,
                       retry_at=now + wait if wait else None)


def _epoch(iso: str | None) -> float | None:
    """Unix seconds of a stored ISO time (None stays None)."""
    return dt.datetime.fromisoformat(iso).timestamp() if iso else None


def answered(cycle: Cycle, network: str, health: Health | None, now: float) -> None:
    """``network`` answered this cycle (``cycle.report.fetched`` items; ``health``: its record as
    read at the start of the cycle): record it and tell what changed (the module's invariants)."""
    tell_token_expiry(cycle, network)
    fetched = cycle.report.fetched[network]
    health = health or Health(network)
    expected = expected_data_hours(cycle, network)
    outage = health.consecutive_failures >= cycle.config.alerts.health_failures
    refresh = min(HEALTH_REFRESH_SECONDS, expected * 900.0) if expected else HEALTH_REFRESH_SECONDS
    last_success, last_data = _epoch(health.last_success_at), _epoch(health.last_data_at)
    recent = health.consecutive_failures == 0 and last_success is not None and \
        now - last_success < HEALTH_REFRESH_SECONDS
    data_unrecorded = fetched > 0 and (last_data is None or now - last_data >= refresh or
                                       health.silence_told == "silent")
    if not recent or data_unrecorded or health.watching_since is None:  # else healthy and said so: no write
        told = cycle.store.record_success(network, fetched, data=fetched > 0, restart_watch=outage)
        if told == "down" and cycle.store.tell_health(network, "up"):
            tell_owner(cycle, network, down=False, error=None, failures=0)
    watching = now if outage or health.watching_since is None else _epoch(health.watching_since)
    change = silence_change(now=now, last_data_at=now if fetched else last_data, watching_since=watching,
                            expected_hours=expected, told=health.silence_told,
                            told_at=_epoch(health.silence_told_at), failing=outage)
    if change is None or not cycle.store.tell_silence(network, change):
        return
    quiet_since = max((t for t in (last_data, _epoch(health.watching_since)) if t is not None), default=now)
    tell_silence(cycle, network, change, silent_seconds=now - quiet_since, expected_hours=expected)


def tell_owner(cycle: Cycle, network: str, *, down: bool, error: str | None, failures: int,
               cause: SourceError | None = None, retry_at: float | None = None) -> None:
    """Email every recipient about a network's health change; when it is tried again, in each
    recipient's time zone."""
    from chalicelib.alerts.notices import compose_health_notice

    config = cycle.config

    def zone(name: str) -> str:
        recipient = config.recipient(name)
        return recipient.timezone if recipient else "UTC"

    told = "down" if down else "up"
    sent = notify_all(cycle, f"health-{network}-{told}", lambda name, address: compose_health_notice(
        business=config.business.name, from_address=config.alerts.from_address, to_name=name,
        to_address=address, network=network, down=down, error=error, failures=failures, cause=cause,
        retry_at=retry_at, timezone=zone(name), now=cycle.clock()))
    cycle.report.health_notices.extend((name, network, told) for name in sent)


def tell_silence(cycle: Cycle, network: str, change: str, *, silent_seconds: float,
                 expected_hours: float | None) -> None:
    """Email every recipient that a network has returned nothing for too long, or returns data
    again."""
    from chalicelib.alerts.notices import compose_silence_notice

    config = cycle.config
    sent = notify_all(cycle, f"silence-{network}", lambda name, address: compose_silence_notice(
        business=config.business.name, from_address=config.alerts.from_address, to_name=name,
        to_address=address, network=network, silent_seconds=silent_seconds, expected_hours=expected_hours,
        data_again=change == "data again"))
    cycle.report.health_notices.extend((name, network, change) for name in sent)


def notify_all(cycle: Cycle, what: str, compose: Callable[[str, str], EmailMessage]) -> list[str]:
    """Send a notice to every recipient with an email address, as one delivery job
    (``notice-<what>-<unique>``); the names it reached. One that failed or may not have
    arrived is in ``cycle.report.deliveries`` (0 mentions), so the cycle's metric counts it."""
    outcomes = notify(cycle.store, cycle.channels.get("email"), cycle.config.recipients,
                      f"notice-{what}-{uuid.uuid4().hex[:12]}", compose, clock=cycle.clock)
    cycle.report.deliveries.extend((name, "email", status, 0) for name, status in outcomes if status != "sent")
    return [name for name, status in outcomes if status == "sent"]


def tell_token_expiry(cycle: Cycle, network: str) -> None:
    """Email every recipient the words of a connector whose token can no longer be used soon
    (``token_notice()``: "Instagram: reconnect by running `make connect NETWORK=instagram` before
    12 Jan", which the connector gives once for each expiry)."""
    notice = getattr(cycle.sources.get(network), "token_notice", None)
    words = notice() if callable(notice) else None
    if not words:
        return
    from chalicelib.alerts.notices import compose_token_notice

    config = cycle.config
    sent = notify_all(cycle, f"token-{network}", lambda name, address: compose_token_notice(
        business=config.business.name, from_address=config.alerts.from_address, to_name=name,
        to_address=address, network=network, words=words))
    cycle.report.health_notices.extend((name, network, "token") for name in sent)
