"""Alert latency: from a mention's creation to the alert's send, on the replay server with
realistic network latency.

Every request to the replay server waits 0.2-0.8 s (uniform, seeded) before its answer. The
example business's ten networks (as in `make demo`) are polled by cycles on a 60-second grid
(EventBridge's schedule) with 20 search terms, 3 of them urgent (polled every minute; the
others every 5 minutes). For the first ten minutes each network gets one new item a minute
naming a random term, created at a random second of the minute before the cycle; six more
cycles drain what is left. A mention's latency is the simulated time of its first alert
(email or SMS) less its creation time; the simulated clock moves with real time inside a
cycle, so slow requests count. Emails list up to 100 mentions (the example says 20; the
rest are counted in the email, not listed), so every alerted mention is timed.

- alert_latency_p95_s_search: p95 over the networks searched per term (Hacker News, Reddit,
  GitHub, Stack Exchange, Mastodon, Bluesky, YouTube); alert_latency_p95_s_stream: over the
  networks read as streams (Lobsters, DEV, feeds). Goal <= 75 s for every network whose
  limits allow a poll a minute. alert_latency_p95_s_<network> per network, and
  alerted_share_<network>: the share of its mentions alerted by the end of the run. The
  example's schedule: each network as often as its published limits allow for the 20 terms
  (``chalicelib.sources.limits.poll_minutes``: YouTube's daily search budget allows a search
  every ~16 minutes, Stack Exchange without a Stack Apps key one listing every ~12 minutes:
  they are expected to miss some), urgent terms every minute.
- alert_latency_p95_s_where_limits_allow_1min: p95 over the networks whose limits allow a poll a
  minute for the 20 terms (limits_allow_minutes_<network> says each one's interval).
- naive_*: the old way, in the same run: each network handed one term at a time (no
  ``fetch_many``), each task's interval counted from when its cycle's fetching and storing
  ended, and every network every 5 minutes (``schedule.poll_minutes: 5``).
- poll_5min_*: the new way with listen.yaml's ``schedule.poll_minutes: 5`` (the example's
  schedule before the limits chose the intervals), in the same run.

    python -m bench.latency
"""

from __future__ import annotations

import logging
import math
import random
import re
import string
import threading
import time
from collections.abc import Callable
from typing import Any

import yaml

from bench.requests import fresh_pipeline, prepare
from chalicelib.alerts import AlertBundle
from chalicelib.config import ListenConfig, parse_config
from chalicelib.networks import source_class
from chalicelib.networks.bluesky.emulator import post_view
from chalicelib.networks.devto.emulator import devto_article
from chalicelib.networks.github.emulator import issue
from chalicelib.networks.hackernews.emulator import story_hit
from chalicelib.networks.lobsters.emulator import lobsters_story
from chalicelib.networks.mastodon.emulator import hashtag_link, snowflake, status
from chalicelib.networks.reddit.emulator import post
from chalicelib.networks.rss.emulator import rss_item
from chalicelib.networks.stackexchange.emulator import question
from chalicelib.networks.youtube.emulator import youtube_video
from chalicelib.sources.limits import poll_minutes
from offline.demo import ROOT, SIGNING_KEY_PARAMETER, network_options
from offline.replay import make_server
from offline.replay.server import ReplayServer
from offline.stack import LocalStack

DELAY = (0.2, 0.8)  # seconds per request
TERMS = [f"beanword{n:02d}" for n in range(20)]
URGENT = TERMS[:3]
INJECT_MINUTES = 10
DRAIN_MINUTES = 6
NOTE = re.compile(r"\(note (\d+)\)")  # each simulated item says its number
SIMULATED = ("hackernews", "reddit", "github", "youtube", "stackexchange", "mastodon", "bluesky", "lobsters", "devto",
             "rss")  # the networks ``item_for`` builds items for


class Delayed:
    """A replay API that answers each request after 0.2-0.8 s (seeded, thread-safe)."""

    def __init__(self, api: Any, rng: random.Random) -> None:
        self._api = api
        self._rng = rng
        self._lock = threading.Lock()

    def handle(self, request: Any, items: list[dict[str, Any]]) -> Any:
        with self._lock:
            delay = self._rng.uniform(*DELAY)
        time.sleep(delay)
        return self._api.handle(request, items)

    def websocket(self, request: Any, items: list[dict[str, Any]]) -> Any:
        """A WebSocket connection (Bluesky's Jetstream) waits like a request before its first frame."""
        with self._lock:
            delay = self._rng.uniform(*DELAY)
        time.sleep(delay)
        return self._api.websocket(request, items)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._api, name, value)


def item_for(network: str, number: int, created: int, text: str) -> dict[str, Any]:
    """One new item of ``network`` saying ``text``, created at ``created`` (unique ``number``)."""
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "hackernews": lambda: story_hit(number, created, text),
        "reddit": lambda: post(number, created, text, subreddit="lisbon"),
        "github": lambda: issue(number, number, "beanthere/shop", created, text, "reported today"),
        "youtube": lambda: youtube_video(f"lat{number:08d}", created, text),
        "stackexchange": lambda: question(number, created, text, "<p>asked today</p>"),
        "mastodon": lambda: status(snowflake(created, number % 65536), created,
                                   f"<p>{text} {hashtag_link('coffee')}</p>", tags=("coffee",)),
        "bluesky": lambda: post_view(created, text, clock_id=number % 1024),
        "lobsters": lambda: lobsters_story(f"l{number:05d}"[-6:], created, text),
        "devto": lambda: devto_article(number, created, text, tags=("coffee",)),
        "rss": lambda: rss_item("lisboa-food-blog", f"lat-{number}", created, text,
                                f"https://lisboafood.example/{number}", f"<p>{text}</p>"),
    }
    return builders[network]()


def latency_config(replay: ReplayServer, poll_minutes: int | None = None) -> ListenConfig:
    data = yaml.safe_load((ROOT / "listen.example.yaml").read_text(encoding="utf-8"))
    data["networks"] = network_options(replay)
    data["networks"]["bluesky"]["firehose_idle_seconds"] = 0.1  # a live Jetstream is never quiet (bench.requests)
    data["secrets"]["signing_key_parameter"] = SIGNING_KEY_PARAMETER
    data["rules"] = [
        {"name": "complaints", "group": "brand", "keywords": URGENT, "urgent": True},
        {"name": "brand", "group": "brand", "keywords": TERMS[len(URGENT):]},
    ]
    data["alerts"]["max_mentions_per_email"] = 100  # every alerted mention listed, so each is timed
    if poll_minutes is not None:
        data["schedule"]["poll_minutes"] = poll_minutes
    for recipient in data["recipients"]:
        recipient.pop("quiet_hours", None)
    return parse_config(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "bench/listen.yaml")


class Recorder:
    """A channel that records when each mention it carries was first sent (simulated time)."""

    def __init__(self, channel: Any, clock: Callable[[], float], sent: dict[int, float]) -> None:
        self._channel = channel
        self._clock = clock
        self._sent = sent

    def send(self, bundle: AlertBundle) -> str:
        message_id: str = self._channel.send(bundle)
        now = self._clock()
        for item in bundle.items:
            mention = item.mention.item.mention
            note = NOTE.search(f"{mention.title} {mention.text}")
            if note:
                self._sent.setdefault(int(note.group(1)), now)
        return message_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


def simulate(stack: LocalStack, replay: ReplayServer, *, new_way: bool, poll_minutes: int | None = None,
             seed: int = 19) -> dict[str, list[float]]:
    """Latencies per network (seconds); a mention never alerted counts as ``math.inf``."""
    replay.reset()
    config = latency_config(replay, poll_minutes)
    rng = random.Random(seed)
    clock, pipeline = fresh_pipeline(stack, replay, config, batched=new_way)
    sent: dict[int, float] = {}
    pipeline.channels = {name: Recorder(channel, clock, sent) for name, channel in pipeline.channels.items()}
    if not new_way:
        due_tasks = pipeline.due_tasks

        def old_schedule() -> Any:  # the old schedule: a task counts as run when fetching and storing ended
            found = due_tasks()
            pipeline._cycle_started = 0.0
            return found

        pipeline.due_tasks = old_schedule  # type: ignore[method-assign]
    created: dict[int, tuple[str, float]] = {}  # item number -> network, creation time
    grid = time.time() + clock.offset
    number = 700_000
    for minute in range(INJECT_MINUTES + DRAIN_MINUTES):
        start = grid + 60 * minute
        if 0 < minute <= INJECT_MINUTES:
            for network in config.networks:
                if network not in SIMULATED:  # no item builder here (X, the owned networks): not timed
                    continue
                number += 1
                at = int(start - rng.uniform(1, 59))
                words = " ".join("".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(12))
                text = f"{rng.choice(TERMS)} {words} (note {number})"  # unlike any other: never one story
                replay.add_items(network, [item_for(network, number, at, text)])
                created[number] = (network, float(at))
        clock.offset = start - time.time()
        pipeline.run_cycle()
    by_network: dict[str, list[float]] = {network: [] for network in config.networks if network in SIMULATED}
    for key, (network, at) in created.items():
        by_network[network].append(sent[key] - at if key in sent else math.inf)
    return by_network


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank); ``math.inf`` when more than 5% were never alerted."""
    if not values:
        return math.nan
    ranked = sorted(values)
    return ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)]


def run() -> list[tuple[str, float]]:
    logging.disable(logging.WARNING)
    try:
        with LocalStack(table_name="bench-unused") as stack, make_server() as replay:
            rng = random.Random(7)
            replay.apis = {name: Delayed(api, rng) for name, api in replay.apis.items()}
            prepare(stack)
            runs = {variant: simulate(stack, replay, new_way=variant != "naive_",
                                      poll_minutes=5 if variant else None)
                    for variant in ("", "naive_", "poll_5min_")}
            every = poll_minutes(latency_config(replay), TERMS)  # what the limits allow for the 20 terms
    finally:
        logging.disable(logging.NOTSET)
    minute = [v for n, vs in runs[""].items() if every[n] == 1 for v in vs]
    figures: list[tuple[str, float]] = [
        ("alert_latency_p95_s_where_limits_allow_1min", round(p95(minute), 1)),  # the goal's networks
        *((f"limits_allow_minutes_{n}", every[n]) for n in sorted(every)),
    ]
    for prefix, by_network in runs.items():
        search = [v for n, vs in by_network.items() if source_class(n).capabilities.server_search for v in vs]
        stream = [v for n, vs in by_network.items() if not source_class(n).capabilities.server_search for v in vs]
        figures += [(f"{prefix}alert_latency_p95_s_search", round(p95(search), 1)),
                    (f"{prefix}alert_latency_p95_s_stream", round(p95(stream), 1))]
        for network, values in sorted(by_network.items()):
            figures.append((f"{prefix}alert_latency_p95_s_{network}", round(p95(values), 1)))
            alerted = sum(1 for v in values if math.isfinite(v))
            figures.append((f"{prefix}alerted_share_{network}", round(alerted / len(values), 2) if values else 0.0))
    return figures


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
