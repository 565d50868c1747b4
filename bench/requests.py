"""Requests the poll cycles make per 10 minutes as the number of search terms grows.

- requests_per_10min_5_terms / requests_per_10min_100_terms: every HTTP request (logins
  included) the replay server receives from ten cycles on a 60-second grid, the example
  business's ten networks pointed at it (as in `make demo`), with 5 and with 100 search terms
  (one of them urgent, polled every minute; the others as often as each network's published
  limits allow for that many terms: ``chalicelib.sources.limits.poll_minutes``).
- requests_growth_100_vs_5: their ratio. Goal <= 4 (20.7 when every term was one request
  per network and site).
- requests_growth_100_vs_5_except_bluesky: the same without Bluesky, whose search cannot take
  several terms in one request (``chalicelib/networks/bluesky/source.py``): with many terms it
  reads the Jetstream firehose instead, one WebSocket connection a poll (counted as one request,
  as is each getProfiles call for the authors of matched posts).
- bluesky_firehose_bytes_per_10min: the bytes of WebSocket frames (permessage-deflate) the
  emulated Jetstream sent in the 100-term run: the bench's own small stream.
- bluesky_firehose_*_real_rate: a minute of posts at Bluesky's real rate (2.2 million a day, a
  third party's measurement cited in ``chalicelib/networks/bluesky/emulator.py``; not measured
  here), each shaped as Jetstream's own captured post event, through the emulated Jetstream:
  the wire bytes (estimate for 10 minutes), and the reader's CPU (JSON, checks, local match of
  100 terms, and inflating the frames) here and, scaled, on the poll Lambda (768 MB: 0.43 vCPU)
  at the peak rate (130,000 posts an hour).
- bluesky_firehose_break_even_terms: the terms from which one firehose read takes less Lambda time
  than a search a term: (one connection + the peak minute's CPU on the Lambda) / one request, a
  request taking bench.latency's 0.2-0.8 s (0.5 s on average) like the connection. The mode's
  threshold (``chalicelib/networks/bluesky/__init__.py`` FIREHOSE_FROM_TERMS) comes from it.
- bluesky_firehose_task_state_wu_per_min_{10,100,500}_terms (and ``_before``): the DynamoDB write units
  a minute's cycle spends on Bluesky's task states in firehose mode, every term polled every minute
  and all of them moving to the firehose's new cursor (``{"time_us", "seen"}``, 3 uris seen), each
  item priced as on-demand bills a plain write (1 unit per KB, ``offline.cost``); the writes come from
  ``chalicelib.store.poll_state.planned_writes`` in a cycle after the first. ``_before``: the groups
  that cycle rewrote before the shared cursor item (every group of the interval's layout, each task's
  cursor inline: ``task_layout``/``tasks_body`` without a shared cursor), from the same code.
- *_poll_5min: the same with listen.yaml's ``schedule.poll_minutes: 5`` (the schedule before
  the limits chose it), in the same run.
- naive_*: the same cycles with each network handed one term at a time (no ``fetch_many``),
  in the same run. Networks that refuse or ration calls (GitHub's 10 searches a minute,
  YouTube's daily budget) cap the naive counts: they are what the networks let through.

    python -m bench.requests
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import uuid
from typing import Any

import yaml

from chalicelib.config import ListenConfig, parse_config
from chalicelib.model import TaskState
from chalicelib.networks.bluesky.emulator import POSTS_PER_DAY, POSTS_PER_PEAK_HOUR, measure_real_rate_minute
from chalicelib.pipeline import Pipeline
from chalicelib.runtime import build
from chalicelib.store import Store, client_config
from chalicelib.store.poll_state import planned_writes, task_group, task_layout, tasks_body
from offline.cost import item_size, write_units
from offline.demo import DEMO_SECRETS, ROOT, SIGNING_KEY_PARAMETER, DemoClock, network_options, seed
from offline.replay import make_server
from offline.replay.server import ReplayServer
from offline.stack import LocalStack

CYCLES = 10  # ten minutes on the 60-second grid
URGENT_TERM = "Bean There"
# A live Jetstream always has the next event (25 posts a second): a read ends at the cycle's start at
# once. The emulated one goes quiet after its last event: the reader waits this long for another.
QUIET_SECONDS = 0.1
REQUEST_SECONDS = 0.5  # one request, as bench.latency simulates them (0.2-0.8 s)
POLL_LAMBDA_MB, VCPU_MB = 768, 1769  # .chalice/config.json's poll function; the memory of one vCPU


class OneTermAtATime:
    """A connector without ``fetch_many``: the pipeline hands it one term per call (as before)."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def __getattr__(self, name: str) -> Any:
        if name == "fetch_many":
            raise AttributeError(name)
        return getattr(self._source, name)


def config_with_terms(replay: ReplayServer, terms: int, poll_minutes: int | None = None) -> ListenConfig:
    """The example business, its networks on the replay server, with ``terms`` search terms:
    one urgent, the others one keyword each of a normal rule; ``poll_minutes`` as listen.yaml's
    (None: each network as often as its limits allow)."""
    data = yaml.safe_load((ROOT / "listen.example.yaml").read_text(encoding="utf-8"))
    if poll_minutes is not None:
        data["schedule"]["poll_minutes"] = poll_minutes
    data["networks"] = network_options(replay)
    data["networks"]["bluesky"]["firehose_idle_seconds"] = QUIET_SECONDS
    data["secrets"]["signing_key_parameter"] = SIGNING_KEY_PARAMETER
    data["rules"] = [
        {"name": "complaints", "group": "brand", "keywords": [URGENT_TERM], "urgent": True},
        {"name": "brand", "group": "brand", "keywords": [f"beanthere{n:03d}" for n in range(1, terms)]},
    ]
    return parse_config(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "bench/listen.yaml")


def prepare(stack: LocalStack) -> None:
    """The AWS side as `make demo` sets it up: SES sender, signing key, the emulations' secrets."""
    os.environ.update(stack.env())
    stack.prepare_aws(sender="alerts@beanthere.example", signing_key_parameter=SIGNING_KEY_PARAMETER,
                      signing_key=secrets.token_urlsafe(32))
    ssm = stack.client("ssm")
    for name, value in DEMO_SECRETS.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def fresh_pipeline(stack: LocalStack, replay: ReplayServer, config: ListenConfig, *,
                   batched: bool) -> tuple[DemoClock, Pipeline]:
    """A pipeline on a new table and simulated clock; the emulations' clocks, YouTube's daily
    budget and GitHub's rate-limit windows start afresh. ``batched``: False hands each
    network one term at a time."""
    clock = DemoClock()
    for api in replay.apis.values():
        if hasattr(api, "clock"):
            api.clock = clock
        if hasattr(api, "calls"):
            api.calls = 0
        if hasattr(api, "windows"):
            api.windows.clear()
    table = f"bench-{uuid.uuid4().hex[:8]}"
    stack.create_table(table)
    store = Store(stack.client("dynamodb", client_config()), table, clock=clock)
    pipeline = build(config, store, signing_key=b"k" * 32, clock=clock).pipeline
    if not batched:
        pipeline.sources = {name: OneTermAtATime(source) for name, source in pipeline.sources.items()}
    return clock, pipeline


def requests_in_ten_minutes(stack: LocalStack, replay: ReplayServer, terms: int, *,
                             batched: bool, poll_minutes: int | None = None) -> dict[str, int]:
    """Requests per network the replay server received in ten cycles (a WebSocket connection is one)."""
    replay.reset()
    replay.apis["bluesky"].stream_bytes = 0
    config = config_with_terms(replay, terms, poll_minutes)
    clock, pipeline = fresh_pipeline(stack, replay, config, batched=batched)
    seed(replay, list(config.networks), int(clock()))
    grid = clock.offset
    for minute in range(CYCLES):
        clock.offset = grid + 60 * minute
        pipeline.run_cycle()
    return {network: len(received) for network, received in replay.received.items()}


def run() -> list[tuple[str, float]]:
    logging.disable(logging.WARNING)  # rate limits and refusals are expected in the naive runs
    try:
        with LocalStack(table_name="bench-unused") as stack, make_server() as replay:
            prepare(stack)
            per_network = {}
            for terms in (5, 100):
                for batched in (True, False):
                    per_network[(terms, batched)] = requests_in_ten_minutes(stack, replay, terms, batched=batched)
                    if (terms, batched) == (100, True):
                        stream_bytes = replay.apis["bluesky"].stream_bytes
            every_5 = {terms: sum(requests_in_ten_minutes(stack, replay, terms, batched=True, poll_minutes=5).values())
                       for terms in (5, 100)}
    finally:
        logging.disable(logging.NOTSET)
    real = firehose_figures(measure_real_rate_minute())
    figures = {key: sum(counts.values()) for key, counts in per_network.items()}
    networks = sorted({n for counts in per_network.values() for n in counts})
    return [
        ("requests_per_10min_5_terms", figures[(5, True)]),
        ("requests_per_10min_100_terms", figures[(100, True)]),
        ("requests_growth_100_vs_5", round(figures[(100, True)] / figures[(5, True)], 2)),
        ("requests_growth_100_vs_5_except_bluesky", round(
            (figures[(100, True)] - per_network[(100, True)].get("bluesky", 0))
            / (figures[(5, True)] - per_network[(5, True)].get("bluesky", 0)), 2)),
        ("requests_per_10min_5_terms_poll_5min", every_5[5]),
        ("requests_per_10min_100_terms_poll_5min", every_5[100]),
        ("requests_growth_100_vs_5_poll_5min", round(every_5[100] / every_5[5], 2)),
        ("naive_requests_per_10min_5_terms", figures[(5, False)]),
        ("naive_requests_per_10min_100_terms", figures[(100, False)]),
        ("naive_requests_growth_100_vs_5", round(figures[(100, False)] / figures[(5, False)], 2)),
        *((f"requests_per_10min_100_terms_{n}", per_network[(100, True)].get(n, 0)) for n in networks),
        *((f"naive_requests_per_10min_100_terms_{n}", per_network[(100, False)].get(n, 0)) for n in networks),
        ("bluesky_firehose_bytes_per_10min", stream_bytes),
        *(item for terms in (10, 100, 500) for item in task_state_write_units(terms).items()),
        *real.items(),
    ]


def task_state_write_units(terms: int) -> dict[str, float]:
    """Write units a minute on Bluesky's task states in firehose mode at ``terms`` terms, now and before."""
    def cursor(minute: int) -> dict[str, Any]:
        time_us = 1_764_900_000_000_000 + minute * 60_000_000
        return {"time_us": time_us, "seen": {f"at://did:plc:{n:024d}/app.bsky.feed.post/3lbx{minute:09d}{n}":
                                             time_us - n * 100_000 for n in range(3)}}

    def units(groups: dict[str, str]) -> int:
        return sum(write_units(item_size({"pk": {"S": "TASKS"}, "sk": {"S": f"bluesky#{group}"}, "tasks": {"S": body}}))
                   for group, body in groups.items())

    queries = [f"beanthere{n:03d}" for n in range(terms)]
    states = {q: TaskState(cursor(0), 1_764_900_000.0, every=60.0) for q in queries}
    plan = planned_writes(states, None, {})
    for minute in (1, 2):  # the second is the steady state measured
        states = {q: TaskState(cursor(minute), 1_764_900_000.0 + 60 * minute, every=60.0) for q in queries}
        plan = planned_writes(states, queries, plan.then)
    layout = task_layout(states)
    before: dict[str, dict[str, TaskState]] = {}
    for query, state in states.items():
        before.setdefault(task_group(query, 60.0, layout), {})[query] = state
    return {f"bluesky_firehose_task_state_wu_per_min_{terms}_terms": units(
                {g: body for batch in plan.batches for g, body in batch.items()}) + len(plan.deletes),
            f"bluesky_firehose_task_state_wu_per_min_{terms}_terms_before": units(
                {g: tasks_body(part) for g, part in before.items()})}


def firehose_figures(minute: dict[str, float]) -> dict[str, float]:
    """The firehose's figures from a measured minute at the real rate (``measure_real_rate_minute``)."""
    peak_cpu_lambda = minute["cpu_seconds"] * POSTS_PER_PEAK_HOUR / 60 / minute["events"] * VCPU_MB / POLL_LAMBDA_MB
    firehose_seconds = REQUEST_SECONDS + peak_cpu_lambda
    return {
        "bluesky_firehose_post_events_per_minute_real_rate": minute["events"],
        "bluesky_firehose_raw_bytes_per_post_event": round(minute["raw_bytes"] / minute["events"]),
        "bluesky_firehose_bytes_per_minute_real_rate": minute["wire_bytes"],
        "bluesky_firehose_bytes_per_10min_real_rate_estimate": minute["wire_bytes"] * 10,
        "bluesky_firehose_gb_per_day_real_rate_estimate": round(minute["wire_bytes"] * 1440 / 1e9, 2),
        "bluesky_firehose_posts_per_day_source": POSTS_PER_DAY,
        "bluesky_firehose_cpu_s_per_minute_here": round(minute["cpu_seconds"], 3),
        "bluesky_firehose_lambda_s_per_poll_at_peak_768mb": round(firehose_seconds, 2),
        "bluesky_firehose_break_even_terms": math.ceil(firehose_seconds / REQUEST_SECONDS),
    }


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
