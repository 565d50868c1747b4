"""`make preview`: try your own listen.yaml against the real networks before deploying.

One read-only pass from your machine: every enabled network is read once as a first poll reads
it (each connector looks back 24 hours, or its ``first_run_lookback_hours``), your rules, mutes
and triage run exactly as in the service (``runtime.build`` and one ``Pipeline.run_cycle``), and
what would have been alerted in the last 24 hours is printed per rule and network, with the
alerts each recipient would have got. A network that is rate-limited, down, or needs credentials
is said in words.

Nothing is sent and nothing touches AWS: the table is DynamoDB Local (moto's when Java is
missing) in memory, SES, SNS and SSM are moto on 127.0.0.1, and the alert channels only record.
Credentials are SSM parameters of your AWS account, which a preview does not read: the networks
that need one are named as skipped.

    python -m offline.preview [listen.yaml]     # default: $LISTEN_CONFIG or ./listen.yaml
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import re
import secrets
import sys
import time
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib.alerts import network_name
from chalicelib.config import ConfigError, ListenConfig, config_path, load_config
from chalicelib.model import StoredMention
from chalicelib.runtime import build
from chalicelib.store import Store

PREVIEW_TABLE = "social-listening-preview"
WINDOW_SECONDS = 24 * 3600
FETCH_BUDGET_SECONDS = 120.0  # one pass reads a whole day: more than a poll's 30 s
EXAMPLES_PER_RULE = 3
_SHOWN = 90  # characters of a title in an example line
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")


class Recorder:
    """An alert channel that records what it would send and sends nothing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bundles: list[Any] = []  # chalicelib.alerts.AlertBundle
        self.messages: list[tuple[str, str]] = []  # (to, subject) of notices

    def send(self, bundle: Any) -> str:
        self.bundles.append(bundle)
        return f"preview-{self.name}-{len(self.bundles)}"

    def send_message(self, message: Any, to: str) -> str:
        self.messages.append((to, str(message.get("Subject", ""))))
        return f"preview-notice-{len(self.messages)}"

    def send_text(self, phone: str, text: str) -> str:
        self.messages.append((phone, text))
        return f"preview-text-{len(self.messages)}"


class _Watched:
    """A connector whose failures are kept (the exception, for its kind and retry time) as they pass."""

    def __init__(self, source: Any, failures: dict[str, BaseException], network: str) -> None:
        self._source, self._failures, self._network = source, failures, network

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._source, name)
        if name not in ("fetch", "fetch_many") or not callable(value):
            return value

        def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(*args, **kwargs)
            except Exception as err:
                self._failures[self._network] = err
                raise

        return watched


def one_line(text: str, limit: int = _SHOWN) -> str:
    """Text from a network on one terminal line: control and direction characters (which could
    move the cursor or recolour the terminal) become spaces, and it is cut to ``limit``."""
    flat = " ".join(_UNPRINTABLE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def failure_words(network: str, err: BaseException | None, detail: str, timezone: str, now: float) -> str:
    """Why a network gave nothing to this preview, in the owner's words."""
    kinds = {cls.__name__ for cls in type(err).__mro__} if err is not None else set()
    name = network_name(network)
    if "RateLimited" in kinds:
        retry_after = getattr(err, "retry_after", None)
        when = ""
        if retry_after:
            local = dt.datetime.fromtimestamp(now + retry_after, tz=zoneinfo.ZoneInfo(timezone))
            when = f" after {local.strftime('%H:%M')} ({local.strftime('%Z')})"
        return f"{name} asked us to slow down, so nothing was read from it: run the preview again{when}"
    if "CredentialsError" in kinds:
        return (f"{name} needs credentials, which the service keeps in SSM in your AWS account; a preview reads "
                "nothing from AWS, so it was skipped")
    if "Unavailable" in kinds:
        return f"{name} did not answer, or answered with a server error: nothing was read from it"
    if "BadPayload" in kinds:
        return f"{name} answered with something we could not read (its API may have changed)"
    return f"{name} could not be read: {one_line(detail.removeprefix(f'{network}: '), 200)}"


@contextmanager
def apart_from_aws() -> Iterator[None]:
    """No AWS profile while the block runs (the local stack sets test credentials and, with
    ``AWS_ENDPOINT_URL``, points every service at 127.0.0.1); the environment is restored after."""
    saved = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_preview(config: ListenConfig, store: Store, *, clock: Callable[[], float] = time.time,
                say: Callable[[str], None] = print, source: str = "listen.yaml") -> int:
    """One read-only pass of ``config`` with ``store`` (local, empty) and the process's AWS clients
    pointing at a local stack; prints what would have been alerted. Returns the exit status (0)."""
    parts = build(config, store, signing_key=secrets.token_bytes(32), clock=clock)
    pipeline = parts.pipeline
    recorders = {"email": Recorder("email"), "sms": Recorder("sms")}
    pipeline.channels = recorders  # alerts are recorded, never sent
    failures: dict[str, BaseException] = {}
    pipeline.sources = {name: _Watched(source_, failures, name) for name, source_ in pipeline.sources.items()}
    pipeline.fetch_budget_seconds = FETCH_BUDGET_SECONDS
    started = clock()
    enabled = list(config.enabled_networks())
    say(f"Preview of {source}: the last 24 hours on {len(enabled)} network(s), read-only "
        "(nothing is sent, nothing is written to AWS)...")
    report = pipeline.run_cycle()
    now = clock()
    timezone = config.recipients[0].timezone

    found: dict[str, list[StoredMention]] = {}
    older: collections.Counter[str] = collections.Counter()
    for rule in config.rules:
        stored = store.rule_mentions_since(rule.name, started - 60)
        recent = [m for m in stored if m.item.mention.created_at.timestamp() >= now - WINDOW_SECONDS]
        older[rule.name] = len(stored) - len(recent)
        found[rule.name] = sorted(recent, key=lambda m: m.item.mention.created_at, reverse=True)

    say("")
    say("Found by your rules in the last 24 hours, by rule and network (a mention counts under every rule it "
        "matched):")
    for rule in config.rules:
        mentions = found[rule.name]
        kind = f"{rule.group}{', urgent' if rule.urgent else ''}"
        if not mentions:
            say(f"  {rule.name} ({kind}): nothing")
            continue
        say(f"  {rule.name} ({kind}): {len(mentions)}")
        per_network = collections.Counter(m.item.mention.network for m in mentions)
        for network, count in sorted(per_network.items(), key=lambda kv: (-kv[1], kv[0])):
            say(f"    {network_name(network):<16} {count}")
        for m in mentions[:EXAMPLES_PER_RULE]:
            mention = m.item.mention
            local = mention.created_at.astimezone(zoneinfo.ZoneInfo(timezone)).strftime("%a %H:%M")
            say(f"    - {local} {network_name(mention.network)}: {one_line(mention.title or mention.text)}")
            say(f"      {one_line(mention.url, 200)}")
        if older[rule.name]:
            say(f"    ({older[rule.name]} older than 24 hours not counted)")

    say("")
    say("Networks:")
    for network, options in config.networks.items():
        name = network_name(network)
        if not options.enabled:
            say(f"  {name}: not enabled in {source}")
        elif network in report.errors:
            say(f"  {failure_words(network, failures.get(network), report.errors[network], timezone, now)}")
        elif report.fetched[network]:
            say(f"  {name}: answered, {report.fetched[network]} item(s) read")
        else:
            say(f"  {name}: answered, nothing for your search terms in the last 24 hours")

    say("")
    for line in _deliveries(report.deliveries, report.held_by_cap, report.muted, report.attached):
        say(line)
    return 0


def _deliveries(deliveries: list[tuple[str, str, str, int]], held_by_cap: Mapping[str, int], muted: int,
                attached: int) -> list[str]:
    """What each recipient would have received, in one paragraph."""
    sent: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    held: collections.Counter[tuple[str, str]] = collections.Counter()
    for recipient, channel, status, count in deliveries:
        if status == "sent":
            sent[(recipient, channel)].append(count)
        else:
            held[(recipient, channel)] += count
    if not sent and not held:
        lines = ["Alerts it would have sent: none."]
    else:
        lines = ["Alerts it would have sent (none was sent):"]
        for (recipient, channel), counts in sorted(sent.items()):
            what = "email" if channel == "email" else "SMS"
            plural = "s" if len(counts) != 1 and channel == "email" else ""
            lines.append(f"  {recipient}: {len(counts)} {what}{plural} with {sum(counts)} mention(s)")
        for (recipient, channel), count in sorted(held.items()):
            what = "email" if channel == "email" else "SMS"
            lines.append(f"  {recipient}: {count} mention(s) held from {what} (quiet hours or the hourly cap)")
    if sum(held_by_cap.values()):
        lines.append(f"  {sum(held_by_cap.values())} mention(s) over a rule's daily cap: for the digest")
    if muted:
        lines.append(f"  {muted} mention(s) muted (author, domain or thread): not alerted")
    if attached:
        lines.append(f"  {attached} mention(s) of a story told on another network: attached, not alerted alone")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else config_path()
    try:
        config = load_config(path)
    except ConfigError as err:
        print(f"{path} is not valid:")
        print("\n".join(f"  {problem}" for problem in err.problems))
        return 2
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    from offline.stack import LocalStack, StackError

    try:
        with apart_from_aws(), LocalStack(table_name=PREVIEW_TABLE) as stack:
            os.environ.update({**stack.env(), "AWS_ENDPOINT_URL": stack.moto_url})
            return run_preview(config, Store(stack.client("dynamodb"), PREVIEW_TABLE), source=str(path))
    except StackError as err:
        print(f"make preview needs the local stack (DynamoDB Local and moto): {err}. Run make install first.")
        return 1


if __name__ == "__main__":
    sys.exit(main())
