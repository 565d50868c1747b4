"""`make demo`: the whole loop offline, for the example business in listen.example.yaml.

Starts DynamoDB Local, moto (SES, SNS, SSM) and the replay server; runs several poll
cycles (simulated five minutes apart) in which mentions arrive, a network rate-limits us
and another fails; saves every email as .eml and every SMS as a log line under
.local/outbox/; prints a summary; then serves the action links with `chalice local`
until Ctrl-C (not with --no-serve).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import faulthandler
import importlib
import logging
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

from chalicelib.config import ConfigError, ListenConfig, load_config, parse_config
from chalicelib.networks import NETWORKS, emulator_class
from chalicelib.pipeline import CycleReport
from chalicelib.runtime import build
from chalicelib.store import Store
from offline.replay import make_server
from offline.replay.server import Fault, ReplayServer
from offline.stack import LocalStack, free_port

ROOT = Path(__file__).resolve().parents[1]
TABLE = "social-listening-local"  # the "local" stage in .chalice/config.json names the same table
SIGNING_KEY_PARAMETER = "/social-listening/local/signing-key"
DEMO_SECRETS = {  # what the emulations accept; in a real account the owner's setup stores real ones
    "/social-listening/local/reddit/client_id": "app-client-id",
    "/social-listening/local/reddit/client_secret": "app-client-secret",
    "/social-listening/local/reddit/username": "beanthere",
    "/social-listening/local/reddit/password": "hunter2",
    "/social-listening/local/bluesky/handle": "beanthere.bsky.social",
    "/social-listening/local/bluesky/app-password": "abcd-efgh-ijkl-mnop",
    "/social-listening/local/youtube/key": "test-api-key",
    "/social-listening/local/x/bearer-token": "AAAAAAAAAAAAAAAAAAAAAbeanthere-demo-token",
    "/social-listening/local/google/oauth-refresh-token": "test-refresh-token",
    "/social-listening/local/google/oauth-client-id": "test-client-id",
    "/social-listening/local/google/oauth-client-secret": "test-client-secret",
    "/social-listening/local/instagram/token": "ig-page-token",
    "/social-listening/local/facebook/token": "fb-page-token",
}
BUSINESS = {"name": "Bean There Café", "competitors": ["Fábrica Coffee", "Copenhagen Coffee Lab"]}


class DemoClock:
    """Simulated time: it starts at 10:00 Lisbon time today (so the example recipient's quiet
    hours never hold the demo's SMS, whenever it runs) and moves on with real time, plus the
    simulated minutes between cycles (schedules are in minutes)."""

    def __init__(self) -> None:
        lisbon = zoneinfo.ZoneInfo("Europe/Lisbon")
        start = dt.datetime.now(lisbon).replace(hour=10, minute=0, second=0, microsecond=0)
        self.offset = start.timestamp() - time.time()

    def __call__(self) -> float:
        return time.time() + self.offset


def network_options(replay: ReplayServer) -> dict[str, dict[str, Any]]:
    """Every registered network with a demo corpus, pointed at the replay server."""
    options: dict[str, dict[str, Any]] = {
        "hackernews": {"base_url": replay.base_url("hackernews")},
        "rss": {"feeds": [f"{replay.base_url('rss')}/bean-there-alert", f"{replay.base_url('rss')}/lisboa-food-blog"]},
        "stackexchange": {"base_url": replay.base_url("stackexchange"), "sites": ["stackoverflow", "coffee"]},
        "github": {"base_url": replay.base_url("github")},
        "reddit": {"base_url": replay.base_url("reddit"), "auth_base_url": replay.base_url("reddit"),
                   "subreddits": ["lisbon", "lisboa", "Coffee"],
                   "user_agent": "python:beanthere-listening:0.1 (by /u/beanthere)",
                   **{f"{k}_parameter": f"/social-listening/local/reddit/{k}"
                      for k in ("client_id", "client_secret", "username", "password")}},
        "mastodon": {"instances": [f"{replay.base_url('mastodon')}/mastodon.social"],
                     "hashtags": ["coffee", "lisbon", "specialtycoffee"]},
        "bluesky": {"base_url": replay.base_url("bluesky"),
                    "handle_parameter": "/social-listening/local/bluesky/handle",
                    "app_password_parameter": "/social-listening/local/bluesky/app-password"},
        "lobsters": {"base_url": replay.base_url("lobsters")},
        "devto": {"base_url": replay.base_url("devto"), "tags": ["coffee", "lisbon"]},
        "youtube": {"base_url": replay.base_url("youtube"), "key_parameter": "/social-listening/local/youtube/key"},
        "x": {"base_url": replay.base_url("x"), "bearer_token_parameter": "/social-listening/local/x/bearer-token",
              "monthly_budget_usd": 5.0},
        "google_reviews": {"base_url": replay.base_url("google_reviews"),
                           "oauth_token_url": replay.base_url("google_reviews") + "/token",
                           "locations": ["accounts/106941250772149994434/locations/4547712559962801423"],
                           **{f"oauth_{k}_parameter": f"/social-listening/local/google/oauth-{k.replace('_', '-')}"
                              for k in ("refresh_token", "client_id", "client_secret")}},
        "instagram": {"base_url": replay.base_url("instagram"), "ig_user_id": "17841405822304914",
                      "token_parameter": "/social-listening/local/instagram/token"},
        "facebook": {"base_url": replay.base_url("facebook"), "page_id": "1067280970047460",
                     "token_parameter": "/social-listening/local/facebook/token"},
    }
    if "instagram" in options:  # its signed webhook deliveries (chalicelib/webhooks/, webhook_story)
        options["instagram"]["app_secret_parameter"] = INSTAGRAM_APP_SECRET_PARAMETER
    return {name: opts for name, opts in options.items() if name in NETWORKS}


INSTAGRAM_APP_SECRET_PARAMETER = "/social-listening/local/instagram/app-secret"  # noqa: S105 (a name)


def webhook_story(replay: ReplayServer, parts: Any, stack: LocalStack, clock: DemoClock) -> None:
    """An Instagram comment pushed by a signed webhook (after a forged one): stored and alerted in the
    request, then replied to from the alert email's Reply link, as the owner would (ActionService)."""
    from chalicelib.networks.instagram.emulator import (
        APP_SECRET,
        badly_signed_delivery,
        comments_event,
        instagram_media,
        signed_delivery,
    )

    stack.client("ssm").put_parameter(Name=INSTAGRAM_APP_SECRET_PARAMETER, Value=APP_SECRET, Type="SecureString",
                                      Overwrite=True)
    media = instagram_media(90, clock() - 20, "Bean There charged twice for my oat flat white, refund please?")
    replay.add_items("instagram", [media])
    event = comments_event(media, media["comments"]["data"][0], at=int(clock()))
    emails, sms = len(stack.sent_emails()), len(stack.sent_sms())
    forged = parts.hooks.deliver("instagram", *badly_signed_delivery(event))
    started = time.monotonic()
    answer = parts.hooks.deliver("instagram", *signed_delivery(event))
    seconds = time.monotonic() - started
    new_emails, new_sms = stack.sent_emails()[emails:], stack.sent_sms()[sms:]
    print("webhook: an Instagram comment arrives by signed webhook (a forged copy first)")
    print(f"  forged: {forged.status} (stored nowhere); signed: {answer.status} in {seconds:.2f} s, "
          f"{len(new_emails)} email(s) and {len(new_sms)} SMS sent in the same request")
    text = new_emails[-1].get_body(("plain",)).get_content() if new_emails else ""
    found = re.search(r"Reply: \S+/a/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", text)
    if found is None:
        print("  ! no Reply link in the alert")
        return
    token = found.group(1)
    page = parts.actions.confirm_page(token, form_action=f"/a/{token}").body
    key = re.search(r'name="key" value="([A-Za-z0-9_-]+)"', page)
    done = parts.actions.perform(token, form=f"text=So+sorry%2C+refunded+today&key={key.group(1) if key else ''}"
                                 .encode(), headers={})
    posted = [p["message"] for p in getattr(replay.apis["instagram"], "posted", [])]
    print(f"  the Reply link from the alert: {done.status}; posted on Instagram: {posted[-1:]}")


def demo_config(replay: ReplayServer, action_base_url: str, source: Path | None = None) -> tuple[str, ListenConfig]:
    """listen.example.yaml with every network pointed at the replay server; or the owner's ``source``
    (validated first: ConfigError names its lines) with the networks it enables."""
    path = source or ROOT / "listen.example.yaml"
    enabled = load_config(path).enabled_networks() if source is not None else None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["networks"] = {name: options for name, options in network_options(replay).items()
                        if enabled is None or name in enabled}
    data["alerts"]["action_base_url"] = action_base_url
    data.setdefault("secrets", {})["signing_key_parameter"] = SIGNING_KEY_PARAMETER
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return text, parse_config(text, ".local/demo/listen.yaml")


def seed(replay: ReplayServer, networks: list[str], now: int) -> None:
    for network in networks:
        module = importlib.import_module(emulator_class(network).__module__)  # its folder's emulator.py
        replay.add_items(network, module.demo_items(now, BUSINESS))


class SesThrottle:
    """Makes the next ``refuse(n)`` SendEmail calls of an SES client fail as real SES does when
    the sending rate is exceeded (HTTP 429, TooManyRequestsException): moto has no fault
    injection, so the demo answers for it at the botocore boundary, before the request."""

    def __init__(self, client: Any) -> None:
        self.remaining = 0
        client.meta.events.register("before-call.sesv2.SendEmail", self._answer)

    def refuse(self, times: int) -> None:
        self.remaining = times

    def _answer(self, **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if self.remaining <= 0:
            return None  # the call goes to moto
        self.remaining -= 1
        from botocore.awsrequest import AWSResponse

        error = {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}
        return AWSResponse("", 429, {}, None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 429}}


def scenario(replay: ReplayServer, networks: list[str], clock: DemoClock,
             ses: SesThrottle | None = None) -> list[tuple[str, Callable[[], None]]]:
    """What happens before each cycle, in words and in deeds."""
    from chalicelib.networks.hackernews.emulator import demo_late_complaint

    def first() -> None:
        seed(replay, networks, int(clock()))

    def rate_limit() -> None:
        if "stackexchange" in networks:
            replay.inject("stackexchange", Fault(400, {"Content-Type": "application/json"},
                                                 b'{"error_id":502,"error_name":"throttle_violation",'
                                                 b'"error_message":"too many requests from this IP, more requests '
                                                 b'available in 600 seconds"}'))
        replay.add_items("hackernews", demo_late_complaint(int(clock())))
        if "lobsters" in networks:  # the Time Out review from the Google Alert, shared again: one story
            from chalicelib.networks.lobsters.emulator import lobsters_story

            replay.add_items("lobsters", [lobsters_story(
                "tmout1", clock() - 30, "Why Bean There Café is Lisbon's best new roastery", user="rita",
                url="https://www.timeout.pt/lisboa/en/restaurants/bean-there-cafe?utm_source=lobsters")])
        if "google_reviews" in networks:  # Google's per-minute quota, once: a later cycle reads the reviews
            replay.apis["google_reviews"].quota_exhausted_once = True  # type: ignore[attr-defined]
        if ses is not None:
            ses.refuse(1)  # the alert email of this cycle: tried again by a later cycle

    def outage() -> None:
        if "github" in networks:
            replay.inject("github", *[Fault(503)] * 3)  # the first request and its two retries
        if "google_reviews" in networks:
            from chalicelib.networks.google_reviews.emulator import demo_one_star

            replay.add_items("google_reviews", demo_one_star(int(clock())))

    def quiet() -> None:
        pass

    return [
        ("mentions arrive on every network", first),
        ("an urgent complaint on Hacker News, a review shared again on Lobsters; Stack Exchange throttles us, "
         "and so does SES", rate_limit),
        ("GitHub is down (503); the throttled email is tried again; a one-star Google review", outage),
        ("nothing new anywhere: nothing is stored or sent twice", quiet),
    ]


def write_outbox(stack: LocalStack, outbox: Path) -> tuple[list[Path], list[str]]:
    if outbox.exists():
        shutil.rmtree(outbox)
    outbox.mkdir(parents=True)
    paths = []
    for index, message in enumerate(stack.sent_emails(), start=1):
        slug = re.sub(r"[^a-z0-9]+", "-", str(message["Subject"]).lower()).strip("-")[:60]
        path = outbox / f"{index:03d}-{slug}.eml"
        path.write_bytes(message.as_bytes())
        paths.append(path)
    lines = [f"{phone}\t{text}" for phone, text in stack.sent_sms()]
    (outbox / "sms.log").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return paths, lines


def send_digest(sender: Any, config: ListenConfig, clock: DemoClock) -> None:
    """The daily digest, as the hourly schedule would send it at the first recipient's digest hour."""
    from chalicelib.digest import digest_time

    recipient = next((r for r in config.recipients if r.email), None)
    if recipient is None:
        return
    local = dt.datetime.fromtimestamp(clock(), tz=zoneinfo.ZoneInfo(recipient.timezone)).date()
    for name, outcome in sender.run(digest_time(local, config.alerts.digest_hour, recipient.timezone)):
        kind, _, outcome = outcome.partition(" ") if outcome.startswith("weekly ") else ("daily", "", outcome)
        print(f"{kind.capitalize()} digest {outcome} to {name}")


def reply_to_google_review(stack: LocalStack, actions: Any, replay: ReplayServer) -> None:
    """The owner answers the one-star Google review from its alert email's Reply link (as the reply
    form posts it) and the emulated Business Profile API shows the review's reply."""
    for message in stack.sent_emails():
        body = message.get_body(("plain",)).get_content()
        found = re.search(r"Google reviews ★☆☆☆☆ · .*?\nReply: http://127\.0\.0\.1:\d+/a/(\S+)", body, re.DOTALL)
        if found is None:
            continue
        text = "Marta, we are sorry: 25 minutes is far too long. Your next coffee is on us."
        page = actions.perform(found.group(1), form=urlencode({"text": text, "key": "demo-google-reply-1"}).encode())
        answered = [r for r in replay.items.get("google_reviews", []) if "reviewReply" in r]
        print(f"Replied to the one-star Google review from its alert (HTTP {page.status}); its reply now reads "
              f"\"{answered[0]['reviewReply']['comment'] if answered else '(none)'}\"")
        return


def first_action_link(stack: LocalStack) -> str | None:
    """The first "Mark as handled" link of the first email (decoded: the .eml is quoted-printable)."""
    for message in stack.sent_emails():
        links = re.findall(r"Mark as handled: (http://127\.0\.0\.1:\d+/a/\S+)",
                           message.get_body(("plain",)).get_content())
        if links:
            return str(links[0])
    return None


def print_cycle(number: int, story: str, report: CycleReport) -> None:
    fetched = sum(report.fetched.values())
    sent = collections.Counter(channel for _, channel, status, _ in report.deliveries if status == "sent")
    print(f"cycle {number}: {story}")
    print(f"  {report.tasks_run} tasks, {fetched} items fetched, {report.new_mentions} new mentions, "
          f"{sent['email']} email(s), {sent['sms']} SMS, {report.ddb_requests} DynamoDB requests, "
          f"{report.seconds:.2f} s")
    quieted = []
    if report.attached:
        quieted.append(f"{report.attached} attached to a story told elsewhere")
    if report.muted:
        quieted.append(f"{report.muted} muted")
    if report.held_by_cap:
        quieted.append(f"{sum(report.held_by_cap.values())} over a daily cap")
    if quieted:
        print(f"  not alerted on their own: {', '.join(quieted)}")
    for error in report.errors.values():
        print(f"  ! {error}")
    for name, channel, status, count in report.deliveries:
        if status == "retry":
            print(f"  ~ the {channel} to {name} ({count} mention(s)) could not be sent yet (a transient failure): "
                  "a later cycle tries again")
    if report.retried:
        print(f"  ~ {report.retried} delivery(ies) tried again after a transient failure")
    for network, told in sorted({(network, told) for _, network, told in report.health_notices}):
        print(f"  told the owner: {network} {told}")


def local_dir() -> Path:
    """Where the demo writes (.local/ in the clone; SOCIAL_LISTENING_LOCAL_DIR to change it)."""
    return Path(os.environ.get("SOCIAL_LISTENING_LOCAL_DIR", ROOT / ".local"))


def print_summary(store: Store, config: ListenConfig, reports: list[CycleReport], emails: list[Path],
                  sms: list[str], engine: str) -> None:
    per_rule: collections.Counter[str] = collections.Counter()
    per_network: collections.Counter[str] = collections.Counter()
    held = 0
    for report in reports:
        per_rule.update(report.new_per_rule)
        held += sum(1 for _, _, status, _ in report.deliveries if status == "skipped")
    for name in config.networks:
        per_network[name] = sum(r.fetched[name] for r in reports)
    print("\n=== Summary ===")
    print(f"DynamoDB: {engine}")
    print("Mentions found per rule:")
    for rule in config.rules:
        print(f"  {rule.name:<18} {per_rule[rule.name]:>3}  ({rule.group}{', urgent' if rule.urgent else ''})")
    print(f"Emails sent: {len(emails)}   SMS sent: {len(sms)}   SMS held for quiet hours: {held}")
    outcomes = collections.Counter(status for r in reports for _, _, status, _ in r.deliveries)
    if outcomes["retry"] or outcomes["failed"] or outcomes["unconfirmed"]:
        print(f"Deliveries to try again later (transient failure): {outcomes['retry']}   "
              f"tried again: {sum(r.retried for r in reports)}   failed for good: {outcomes['failed']}   "
              f"unconfirmed: {outcomes['unconfirmed']}")
    for channel in ("email", "sms"):
        seconds = sorted(s for r in reports for s in r.latency.get(channel, []))
        if seconds:
            print(f"Alert latency by {channel} (creation to send, cycles five simulated minutes apart): median "
                  f"{statistics.median(seconds) / 60:.1f} min, max {seconds[-1] / 60:.1f} min")
    print("Networks:")
    health = store.all_health()
    for name in config.networks:
        h = health.get(name)
        state = "never polled" if h is None else ("OK" if h.consecutive_failures == 0 else
                                                   f"{h.consecutive_failures} failure(s) in a row: {h.last_error}")
        print(f"  {name:<14} {per_network[name]:>3} items fetched  {state}")
    print(f"Outbox: {local_dir() / 'outbox'}  ({len(emails)} .eml, sms.log with {len(sms)} line(s))")


def serve(stack: LocalStack, config_path: Path, port: int, first_link: str | None) -> None:
    env = {**os.environ, **stack.env(), "TABLE_NAME": TABLE, "LISTEN_CONFIG": str(config_path)}
    chalice = Path(sys.executable).with_name("chalice")
    # Same process group as the demo: whatever stops the demo's group stops chalice local too.
    process = subprocess.Popen([str(chalice), "local", "--host", "127.0.0.1", "--port", str(port),
                                "--stage", "local", "--no-autoreload"], cwd=ROOT, env=env)
    try:
        from offline.stack import _wait_http

        _wait_http(f"http://127.0.0.1:{port}/a/x", 30, process)
        print(f"\nchalice local serves the action links on http://127.0.0.1:{port}")
        if first_link:
            print(f"Try one (GET shows it, the button POSTs): {first_link}")
        print("Press Ctrl-C to stop.", flush=True)
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping chalice local and the local stack...", flush=True)
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def run(serve_links: bool, source: Path | None = None) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where a stuck demo is
    port = free_port()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack on kill, too
    # Ctrl-C stops the demo even when it was started from a background job, where SIGINT is ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with LocalStack(table_name=TABLE) as stack, make_server() as replay:
        os.environ.update(stack.env())
        key = secrets.token_urlsafe(32)
        text, config = demo_config(replay, f"http://127.0.0.1:{port}", source)
        stack.prepare_aws(sender=config.alerts.from_address, signing_key_parameter=SIGNING_KEY_PARAMETER,
                          signing_key=key)
        ssm = stack.client("ssm")
        for name, value in DEMO_SECRETS.items():
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        config_path = local_dir() / "demo" / "listen.yaml"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(text, encoding="utf-8")
        clock = DemoClock()
        for api in replay.apis.values():
            if hasattr(api, "clock"):
                api.clock = clock  # the emulated rate-limit windows follow the simulated minutes
        store = Store(stack.client("dynamodb"), TABLE, clock=clock)
        parts = build(config, store, signing_key=key.encode(), clock=clock)
        pipeline = parts.pipeline
        print(f"Local stack: {stack.dynamodb_engine} on {stack.dynamodb_url}, moto on {stack.moto_url}, "
              f"replay server on http://127.0.0.1:{replay.port}\n")
        reports = []
        ses = SesThrottle(pipeline.channels["email"].client)
        for number, (story, happen) in enumerate(scenario(replay, list(config.networks), clock, ses), start=1):
            happen()
            report = pipeline.run_cycle()
            reports.append(report)
            print_cycle(number, story, report)
            clock.offset += 5 * 60
        if "instagram" in config.networks:
            webhook_story(replay, parts, stack, clock)
        send_digest(parts.digest, config, clock)
        reply_to_google_review(stack, parts.actions, replay)
        emails, sms = write_outbox(stack, local_dir() / "outbox")
        print_summary(store, config, reports, emails, sms, stack.dynamodb_engine)
        if serve_links:
            serve(stack, config_path, port, first_action_link(stack))
    print("Stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-serve", action="store_true", help="exit after the summary (SERVE=0)")
    parser.add_argument("--config", type=Path, help="your listen.yaml: its rules against the replay streams, "
                                                    "which talk about the example café (LISTEN_CONFIG=...)")
    args = parser.parse_args(argv)
    if args.config is not None:
        try:
            load_config(args.config)
        except ConfigError as err:
            print(f"{args.config} is not valid:\n" + "\n".join(f"  {problem}" for problem in err.problems))
            return 2
        print(f"Your rules from {args.config}, against the replay streams (which talk about Bean There Café, a "
              "coffee shop in Lisbon: rules for another business may find little here).")
    return run(serve_links=not args.no_serve, source=args.config)


if __name__ == "__main__":
    sys.exit(main())
