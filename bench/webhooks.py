"""Webhooks (#17): arrival to alert, a burst with repeats, forged deliveries; beside the polling path.

Run on the local stack (DynamoDB Local, moto SES/SNS/SSM): the latency with Instagram, the rest
with the made-up owned network of the webhook tests (``tests/webhook_net``: Meta's ``comments``
delivery shape, no media read, registered for this run only).

- ``webhook_alert_p95_s``: 40 signed Instagram ``comments`` deliveries (its emulator's shapes;
  the parser reads each comment's media from the emulator), one new comment each (half urgent:
  email and SMS), posted one after another through the app's route (Chalice's test client, the API
  function's code): from just before the POST to the first alert for that comment handed to SES
  or SNS (the channel's send returned). Goal <= 5 s.
- ``poll_alert_p95_s_same_network``: the polling path for Instagram, same kind of comments
  (the connector reads the account's recent media and their comments): each created at a random
  second of the minute before a poll cycle on the 60-second grid (EventBridge's schedule), the
  cycle run for real on the stack; creation to the first alert handed to SES/SNS. The side-by-side.
- ``webhook_burst_answered_200`` / ``webhook_burst_deliveries``: 500 distinct comments, each
  delivered once plus 250 repeats of them, shuffled, sent by 8 threads at once, each thread a
  container with its own parts (``runtime.build``) on one table, calling the route's behaviour
  (``WebhookService.deliver``). ``webhook_burst_stored_once``: distinct comments stored (each key
  once in the table; goal 500); ``webhook_burst_emailed_once`` (goal 500) and
  ``webhook_burst_emailed_twice`` (goal 0): comments in one alert email, in more than one.
- ``webhook_bad_signature_accepted``: forged deliveries (no header, another secret, every hex
  digit of a good signature changed, truncated, SHA-1, another body's signature, a body changed
  after signing) posted through the route: any answered other than 401, or stored, counts.
  Goal 0. ``webhook_bad_signature_cases``: how many were tried.

    python -m bench.webhooks
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import random
import secrets
import string
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib import networks
from chalicelib.alerts import AlertBundle

NETWORK, PACKAGE = "hooknet", "tests.webhook_net"
APP_SECRET_PARAMETER = "/social-listening/hooknet/app-secret"  # noqa: S105 (a parameter's name)
VERIFY_TOKEN_PARAMETER = "/social-listening/hooknet/verify-token"  # noqa: S105 (a parameter's name)
SIGNING_KEY_PARAMETER = "/social-listening/bench-webhooks/signing-key"
INSTAGRAM_TOKEN_PARAMETER = "/social-listening/instagram/token"  # noqa: S105 (a parameter's name)
INSTAGRAM_SECRET_PARAMETER = "/social-listening/instagram/app-secret"  # noqa: S105 (a parameter's name)
INSTAGRAM = f"""\
  instagram:
    base_url: {{base_url}}
    ig_user_id: "17841405822304914"
    token_parameter: {INSTAGRAM_TOKEN_PARAMETER}
    app_secret_parameter: {INSTAGRAM_SECRET_PARAMETER}
"""
LATENCY_DELIVERIES, POLL_CYCLES = 40, 20
BURST_DISTINCT, BURST_REPEATS, BURST_THREADS = 500, 250, 8

CONFIG = """\
business: {{name: Bean There Café}}
rules:
  - {{name: complaints, group: brand, keywords: [refund], urgent: true}}
  - {{name: brand, group: brand, keywords: ["Bean There"]}}
networks:
  {network}:
    base_url: {base_url}
    app_secret_parameter: {app_secret}
    verify_token_parameter: {verify_token}
{instagram}recipients:
  - {{name: Maria, email: maria@beanthere.example, phone: "+351912345678", timezone: Europe/Lisbon}}
alerts: {{from_address: alerts@beanthere.example, max_mentions_per_email: 100}}
secrets: {{signing_key_parameter: {signing_key}}}
"""


@contextmanager
def registered() -> Iterator[None]:
    """The made-up network's one registry line, for this run only."""
    added = NETWORK not in networks.NETWORKS
    networks.NETWORKS.setdefault(NETWORK, PACKAGE)
    try:
        yield
    finally:
        if added:
            del networks.NETWORKS[NETWORK]


@contextmanager
def quiet_refusals() -> Iterator[None]:
    """The webhook service's refusal log lines off while attacks expect them (restored after)."""
    log = logging.getLogger("chalicelib.webhooks")
    before = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(before)


def delivery(*comments: tuple[str, str], at: int) -> bytes:
    """A Meta-shaped ``comments`` delivery (tests/webhook_net cites the shape)."""
    return json.dumps({"object": NETWORK, "entry": [{"id": "17841400000000001", "time": at, "changes": [
        {"field": "comments", "value": {"id": cid, "from": {"id": "901", "username": "rui"}, "text": text,
                                        "media": {"id": "555", "media_product_type": "FEED"}}}
        for cid, text in comments]}]}).encode()


def unique_text(rng: random.Random, urgent: bool) -> str:
    """A comment unlike every other (alike texts are one story's reposts: attached, not alerted)."""
    words = " ".join("".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(10))
    return f"Bean There {'I want a refund' if urgent else 'open on Sunday?'} {words}"


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FirstSend:
    """A channel wrapper noting when each mention was first handed to SES/SNS (``clock``), and every send."""

    def __init__(self, channel: Any, clock: Callable[[], float], first: dict[str, float], all_sent: Counter[str],
                 lock: threading.Lock) -> None:
        self._channel, self._clock, self._first, self._all, self._lock = channel, clock, first, all_sent, lock

    def send(self, bundle: AlertBundle) -> str:
        message_id: str = self._channel.send(bundle)
        now = self._clock()
        with self._lock:
            for item in bundle.items:
                self._first.setdefault(item.mention.key, now)
                if self._channel.name == "email":
                    self._all[item.mention.key] += 1
        return message_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


class Bench:
    """The local stack, the replay server and one table, set up as a deployed stage reads them."""

    def __init__(self, stack: Any, replay: Any, folder: Path) -> None:
        self.stack, self.replay = stack, replay
        self.secret, self.token = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        self.table = f"bench-hooks-{uuid.uuid4().hex[:8]}"
        stack.create_table(self.table)
        os.environ.update({**stack.env(), "TABLE_NAME": self.table, "LISTEN_CONFIG": str(folder / "listen.yaml")})
        stack.prepare_aws(sender="alerts@beanthere.example", signing_key_parameter=SIGNING_KEY_PARAMETER,
                          signing_key=secrets.token_urlsafe(32))
        ssm = stack.client("ssm")
        for name, value in ((APP_SECRET_PARAMETER, self.secret), (VERIFY_TOKEN_PARAMETER, self.token)):
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        for name, value in ((INSTAGRAM_TOKEN_PARAMETER, "ig-page-token"), (INSTAGRAM_SECRET_PARAMETER, self.secret)):
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        (folder / "listen.yaml").write_text(CONFIG.format(
            network=NETWORK, base_url=replay.base_url(NETWORK), app_secret=APP_SECRET_PARAMETER,
            verify_token=VERIFY_TOKEN_PARAMETER, signing_key=SIGNING_KEY_PARAMETER,
            instagram=INSTAGRAM.format(base_url=replay.base_url("instagram"))), encoding="utf-8")
        self.first: dict[str, float] = {}
        self.emailed: Counter[str] = Counter()
        self.lock = threading.Lock()

    def parts(self, clock: Callable[[], float] | None = None) -> Any:
        """A container's parts (as ``runtime.runtime()`` builds them) on ``clock`` (None: real time), its
        channels timed with it (None: ``time.monotonic``)."""
        from chalicelib.config import load_config
        from chalicelib.runtime import build, read_secret
        from chalicelib.store import Store

        config = load_config(os.environ["LISTEN_CONFIG"])
        key = read_secret(SIGNING_KEY_PARAMETER).encode()
        parts = build(config, Store(self.stack.client("dynamodb"), self.table, clock=clock or time.time),
                      signing_key=key, clock=clock or time.time)
        self.time_sends(parts.pipeline, clock or time.monotonic)
        return parts

    def time_sends(self, pipeline: Any, clock: Callable[[], float]) -> None:
        pipeline.channels = {name: FirstSend(channel, clock, self.first, self.emailed, self.lock)
                             for name, channel in pipeline.channels.items()}

    def signed(self, body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-Hub-Signature-256": signature(body, self.secret)}


def p95(values: list[float]) -> float:
    """Nearest rank; ``math.inf`` when more than 5% never arrived."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)] if ranked else math.nan


def webhook_latency(bench: Bench, rng: random.Random) -> list[float]:
    """Seconds from POST to the first alert handed to SES/SNS, per delivery, through the route."""
    from chalice.test import Client

    from app import app
    from chalicelib.networks.instagram.emulator import comments_event, instagram_media
    from chalicelib.runtime import runtime

    runtime.cache_clear()
    bench.time_sends(runtime().pipeline, time.monotonic)
    latencies = []
    with Client(app, stage_name="api") as client:
        for n in range(LATENCY_DELIVERIES):
            media = instagram_media(500 + n, time.time() - 5, unique_text(rng, urgent=n % 2 == 1))
            bench.replay.add_items("instagram", [media])  # the parser reads the comment's media
            comment = media["comments"]["data"][0]
            body = json.dumps(comments_event(media, comment, at=int(time.time()))).encode()
            started = time.monotonic()
            answer = client.http.post("/hooks/instagram", headers=bench.signed(body), body=body)
            if answer.status_code != 200:
                raise RuntimeError(f"delivery {n} answered {answer.status_code}")
            sent = bench.first.get(f"instagram#{comment['id']}")
            latencies.append(sent - started if sent is not None else math.inf)
    runtime.cache_clear()
    return latencies


def poll_latency(bench: Bench, rng: random.Random) -> list[float]:
    """Seconds from an Instagram comment's creation to its first alert, by poll cycles on the 60 s grid."""
    from chalicelib.networks.instagram.emulator import instagram_media
    from offline.demo import DemoClock

    clock = DemoClock()
    parts = bench.parts(clock)
    grid = time.time() + 60.0
    created = {}
    for n in range(POLL_CYCLES):
        start = grid + 60 * n
        at = int(start - rng.uniform(1, 59))
        media = instagram_media(700 + n, at, unique_text(rng, urgent=n % 2 == 1))
        bench.replay.add_items("instagram", [media])
        created[f"instagram#{media['comments']['data'][0]['id']}"] = float(at)
        clock.offset = start - time.time()
        parts.pipeline.run_cycle()
    return [bench.first[key] - at if key in bench.first else math.inf for key, at in created.items()]


def burst(bench: Bench, rng: random.Random) -> tuple[int, int, int, int, int]:
    """(deliveries, answered 200, distinct stored once, emailed once, emailed more than once)."""
    comments = [(f"burst{n}", unique_text(rng, urgent=False)) for n in range(BURST_DISTINCT)]
    sends = comments + rng.choices(comments, k=BURST_REPEATS)
    rng.shuffle(sends)
    now = int(time.time())
    bodies = [delivery(comment, at=now) for comment in sends]
    containers = [bench.parts() for _ in range(BURST_THREADS)]
    local = threading.local()
    handed = iter(containers)
    hand_lock = threading.Lock()

    def post(body: bytes) -> int:
        if not hasattr(local, "hooks"):
            with hand_lock:
                local.hooks = next(handed).hooks  # one container a thread
        answer = local.hooks.deliver(NETWORK, body, bench.signed(body))
        return int(answer.status)

    with ThreadPoolExecutor(BURST_THREADS) as pool:
        statuses = list(pool.map(post, bodies))
    store = containers[0].store
    keys = [f"{NETWORK}#{cid}" for cid, _ in comments]
    stored = store.get_mentions(keys)
    once = sum(1 for key in keys if bench.emailed[key] == 1)
    twice = sum(1 for key in keys if bench.emailed[key] > 1)
    return len(bodies), statuses.count(200), len(stored), once, twice


def forged_headers(body: bytes, secret: str) -> list[dict[str, str]]:
    """Signature headers that must all be refused for ``body``: none, another secret or body, SHA-1
    only, no prefix, two values, truncated, extended, every hex digit changed, a header injection,
    full-width digits, a look-alike header name."""
    good = signature(body, secret)
    hexes = good.removeprefix("sha256=")
    variants: list[dict[str, str]] = [
        {}, {"X-Hub-Signature-256": signature(body, secret + "x")},
        {"X-Hub-Signature-256": signature(body + b" ", secret)},
        {"X-Hub-Signature-256": signature(b"", secret)},
        {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()},
        {"X-Hub-Signature-256": hexes}, {"X-Hub-Signature-256": "sha256="}, {"X-Hub-Signature-256": ""},
        {"X-Hub-Signature-256": good + "," + good}, {"X-Hub-Signature-256": good[:-1]},
        {"X-Hub-Signature-256": good + "0"}, {"X-Hub-Signature-256-Extra": good}, {"X-Hub-Signature-25": good},
        {"X-Hub-Signature-256": good + "\r\nX-Injected: 1"},
        {"X-Hub-Signature-256": "sha256=" + hexes.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})},
        {"X-Hub-Signature-256": "sha512=" + hexes}, {"X-Hub-Signature-256": "sha256:" + hexes},
    ]
    for i, digit in enumerate(hexes):
        other = "0" if digit != "0" else "1"
        variants.append({"X-Hub-Signature-256": "sha256=" + hexes[:i] + other + hexes[i + 1:]})
    return variants


def forged(bench: Bench) -> tuple[int, int]:
    """(cases, accepted) for forged deliveries through the route."""
    from chalice.test import Client

    from app import app
    from chalicelib.runtime import runtime

    body = delivery(("forged1", "Bean There forged comment"), at=int(time.time()))
    variants = forged_headers(body, bench.secret)
    tampered = body.replace(b"forged comment", b"forged commenT")
    runtime.cache_clear()
    accepted = 0
    with Client(app, stage_name="api") as client:
        for headers in variants:
            answer = client.http.post(f"/hooks/{NETWORK}", headers={"Content-Type": "application/json", **headers},
                                      body=body)
            accepted += answer.status_code != 401
        answer = client.http.post(f"/hooks/{NETWORK}", headers=bench.signed(body), body=tampered)
        accepted += answer.status_code != 401
    stored = runtime().store.get_mention(f"{NETWORK}#forged1")
    runtime.cache_clear()
    return len(variants) + 1, accepted + (stored is not None)


class Sent:
    """A channel that keeps what it was handed (the attack suite sends nothing out)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[AlertBundle] = []

    def send(self, bundle: AlertBundle) -> str:
        self.sent.append(bundle)
        return f"{self.name}-{len(self.sent)}"


def attacks(check: Callable[[bool, str], None], store: Any) -> None:
    """The webhook routes' attacks for the attack suite (bench/attacks.py), on ``store``: forged
    signatures, oversized bodies, header games, path games and verification games. Each passes when
    it is refused with its status and nothing is stored or sent; a good delivery last shows the
    checks can see one accepted."""
    from chalicelib.config import parse_config
    from chalicelib.links import TokenSigner
    from chalicelib.pipeline import Pipeline
    from chalicelib.rules import compile_rules
    from chalicelib.webhooks.service import MAX_BODY_BYTES, WebhookService

    secret, token = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    text = CONFIG.format(network=NETWORK, base_url="http://127.0.0.1:9/hooknet", app_secret=APP_SECRET_PARAMETER,
                         verify_token=VERIFY_TOKEN_PARAMETER, signing_key=SIGNING_KEY_PARAMETER, instagram="")
    with registered(), quiet_refusals():
        config = parse_config(text, "bench/listen.yaml")
        channels = {"email": Sent("email"), "sms": Sent("sms")}
        pipeline = Pipeline(config, store, {}, compile_rules(config.rule_specs(), exclude=config.exclude), channels,
                            TokenSigner(secrets.token_bytes(32)))
        table = {APP_SECRET_PARAMETER: secret, VERIFY_TOKEN_PARAMETER: token}
        hooks = WebhookService(config, pipeline, lambda name: table[name])
        key = f"{NETWORK}#attack1"

        def refused(status: int, got: int, what: str) -> None:
            untouched = store.get_mention(key) is None and not any(c.sent for c in channels.values())
            check(got == status and untouched, f"webhook: {what} answered {got}, expected {status}")

        body = delivery(("attack1", "Bean There <script>alert(1)</script>"), at=int(time.time()))
        for headers in forged_headers(body, secret):
            refused(401, hooks.deliver(NETWORK, body, headers).status, f"forged signature {headers!r:.80}")
        signed = {"X-Hub-Signature-256": signature(body, secret)}
        refused(401, hooks.deliver(NETWORK, body + b"\n", signed).status, "a body changed after signing")
        refused(401, hooks.deliver(NETWORK, body, {"x-hub-signature-256": signature(body, secret), **{
            "X-Hub-Signature-256": "sha256=" + "0" * 64}}).status, "a good and a bad header under two cases")
        huge = delivery(("attack1", "x" * MAX_BODY_BYTES), at=int(time.time()))
        refused(413, hooks.deliver(NETWORK, huge, {"X-Hub-Signature-256": signature(huge, secret)}).status,
                "a signed body over the cap")
        refused(413, hooks.deliver(NETWORK, b" " * (10 * MAX_BODY_BYTES), {}).status, "a 10 MB unsigned body")
        for network in ("../hooknet", "HOOKNET", "hooknet/", "hooknet\x00", "__class__", "constructor", "x" * 10_000,
                        "hackernews", ""):
            refused(404, hooks.deliver(network, body, signed).status, f"network {network[:20]!r}")
        good = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
        for params in ({**good, "hub.verify_token": token[:-1]}, {**good, "hub.verify_token": token + "x"},
                       {**good, "hub.verify_token": token.upper() if token != token.upper() else token.lower()},
                       {**good, "hub.verify_token": ""}, {**good, "hub.mode": "Subscribe"},
                       {**good, "hub.challenge": "<script>alert(1)</script>"}, {**good, "hub.challenge": "1\r\nX: y"},
                       {**good, "hub.challenge": "9" * 10_000}, {"hub.verify_token": token, "hub.challenge": "1"}):
            answer = hooks.verify(NETWORK, params)
            challenge = params.get("hub.challenge", "")
            check(answer.status == 403 and challenge not in answer.body,
                  f"webhook: verification {params!r:.80} answered {answer.status}")
        answer = hooks.deliver(NETWORK, body, signed)  # the canary: a good delivery is seen accepted
        if answer.status != 200 or store.get_mention(key) is None or not channels["email"].sent:
            raise RuntimeError("the webhook checks could not see a good delivery accepted")


def run() -> list[tuple[str, float]]:
    from offline.replay import make_server
    from offline.stack import LocalStack

    logging.getLogger("chalicelib").setLevel(logging.ERROR)  # the refusals are expected here
    rng = random.Random(17)
    with registered(), LocalStack(table_name="social-listening-webhooks") as stack, make_server() as replay, \
            tempfile.TemporaryDirectory() as folder:
        bench = Bench(stack, replay, Path(folder))
        hooks = webhook_latency(bench, rng)
        polls = poll_latency(bench, rng)
        deliveries, answered, stored, once, twice = burst(bench, rng)
        cases, accepted = forged(bench)
    return [
        ("webhook_alert_p95_s", p95(hooks)),
        ("webhook_alert_max_s", max(hooks)),
        ("poll_alert_p95_s_same_network", p95(polls)),
        ("webhook_burst_deliveries", deliveries),
        ("webhook_burst_answered_200", answered),
        ("webhook_burst_stored_once", stored),
        ("webhook_burst_emailed_once", once),
        ("webhook_burst_emailed_twice", twice),
        ("webhook_bad_signature_cases", cases),
        ("webhook_bad_signature_accepted", accepted),
    ]


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure}: {value}")
