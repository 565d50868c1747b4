"""The foundation's figures, each beside the naive way in the same run.

- cold_import_ratio_vs_boto3: a fresh ``python -c "import app"`` over ``python -c "import boto3"``
  (medians of interleaved runs). Goal <= 1.5.
- pipeline_items_per_s / pipeline_speedup_vs_naive: one cycle of 10,000 fetched items (half
  of them stored before) through match -> dedup -> store against DynamoDB Local (triage of the
  new ones, from the rules issue, is measured by bench.triage_eval, not here), against the
  naive way (one GetItem and one PutItem per item) on a table seeded the same. Goal >= 10x.
  After one warm-up cycle; the batched way is the median of three runs, the naive way one.
- ddb_requests_per_item: DynamoDB requests per fetched item of that cycle, alerting included
  (job, claims, delivery records). Goal <= 0.05.
- cycle_cpu_s_10k_items: CPU seconds of this process for the batched cycle with the triage of its
  5,000 new mentions (DynamoDB Local's own CPU not counted: Lambda does not run it), and
  lambda_memory_mb_needed_10k_items: the poll function's memory that keeps that cycle within half
  of what the Lambda timeout leaves after the fetch budget (see ``lambda_memory_figures``);
  lambda_memory_mb_poll: the memory .chalice/config.json gives the poll function.
- pipeline_speedup_vs_naive_rtt_5ms: the same two cycles, in the same run, through a proxy on
  127.0.0.1 that adds 5 ms to each DynamoDB request (bench.rtt_proxy; the in-region round trip
  class DynamoDB Local on the same machine lacks). Goal >= 25x. The naive way runs in five
  interleaved parts (every fifth item), each between two batched cycles, so that a busy machine
  slows both alike; each part gives a ratio (the part's time x 5 over the mean of the batched
  cycles before and after it), the figure is their median and ``_min`` / ``_max`` their spread.
  The batched cycle's store is built as the Lambda's (chalicelib.runtime: no consumed capacity
  asked for); each cycle's table is deleted after it.
- pipeline_ddb_requests_batched / pipeline_ddb_requests_naive: the DynamoDB requests of that timed
  part as the proxy counted them (the batched cycle's median; the naive parts' sum: every item);
  ddb_requests_batched_cycle: those of one whole batched cycle, alerting included (what the 5 ms
  multiplies), and ddb_put_workers: how many requests the store sends at once when it stores the
  new mentions.

    python -m bench.pipeline
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.rtt_proxy import DelayProxy
from chalicelib.alerts import AlertBundle
from chalicelib.config import load_config
from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention, Mention, matched_to_dict
from chalicelib.pipeline import CycleReport, Pipeline
from chalicelib.rules import compile_rules
from chalicelib.store import Store, client_config, mention_pk
from chalicelib.store.table import PARALLEL_PUTS
from offline.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 10_000
RTT_S = 0.005  # added to each DynamoDB request for the *_rtt_5ms figures
RTT_PARTS = 5  # the naive way through the proxy in fifths, each beside one batched cycle
VCPU_MB = 1769  # Lambda memory that comes with one full vCPU
LAMBDA_SIZES_MB = (256, 512, 1024, 1769)
WORDS = ("coffee espresso latte roast beans morning queue barista price shop lisbon friends service "
         "great slow cold brew oat milk pastry terrace wifi music").split()
BRANDS = ("Bean There Café", "Fábrica Coffee", "Copenhagen Coffee Lab", "Beanbag subscription")


def _median_seconds(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)  # noqa: S603
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cold_import_ratio(runs: int = 7) -> tuple[float, float, float]:
    app, boto3 = [], []
    for _ in range(runs):  # interleaved, so both see the same machine load
        app.append(_median_seconds("import app", 1))
        boto3.append(_median_seconds("import boto3", 1))
    return statistics.median(app) / statistics.median(boto3), statistics.median(app), statistics.median(boto3)


def fetched_items(count: int, seed: int = 7) -> list[Mention]:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    items = []
    for i in range(count):
        words = rng.choices(WORDS, k=rng.randint(8, 50))
        words.insert(rng.randrange(len(words)), rng.choice(BRANDS))
        native_id = str(40_000_000 + i)
        items.append(Mention("hackernews", native_id, f"https://news.ycombinator.com/item?id={native_id}",
                             " ".join(words), now - dt.timedelta(seconds=i), author_handle=f"user{i % 500}"))
    rng.shuffle(items)
    return items


class NullChannel:
    """A channel that accepts every alert (the bench measures the store, not SES)."""

    name = "null"

    def __init__(self) -> None:
        self.sent = 0

    def send(self, bundle: AlertBundle) -> str:
        self.sent += 1
        return f"bench-{self.sent}"


def _seed(store: Store, matched: list[MatchedMention]) -> None:
    """Store half the items as already seen (and already alerted)."""
    store.store_new_mentions(store.unseen(matched), "seed-job", 0)
    store.close_job("seed-job")


def _no_wire() -> int:
    return 0


def optimized_cycle(stack: LocalStack, matched_seen: list[MatchedMention], items: list[Mention],
                    wire: Callable[[], int] = _no_wire) -> tuple[float, int, float, int]:
    """One batched cycle on a fresh table seeded with ``matched_seen``. Out: seconds of match ->
    dedup -> store, the DynamoDB requests of the whole cycle (alerting included), its CPU seconds
    with triage, and the requests ``wire`` (the proxy's count) saw during the timed part."""
    config = load_config(ROOT / "listen.example.yaml")
    table = f"bench-{uuid.uuid4().hex[:8]}"
    stack.create_table(table)
    # as the Lambda's store has it (chalicelib.runtime): no consumed capacity asked for
    store = Store(stack.client("dynamodb", client_config()), table, count_units=False)
    _seed(store, matched_seen)
    rules = compile_rules(config.rule_specs(), exclude=config.exclude)
    channel = NullChannel()
    pipeline = Pipeline(config, store, {}, rules, {"email": channel, "sms": channel}, TokenSigner(b"b" * 32))
    store.requests = 0
    cpu_started = time.process_time()
    wire_before = wire()
    started = time.perf_counter()
    new = store.store_new_mentions(store.unseen(rules.match_many(items)), "bench-job", 120)
    elapsed = time.perf_counter() - started
    wire_requests = wire() - wire_before
    pipeline.alert("bench-job", new, CycleReport())
    pipeline._triaged(new)  # the cycle triages each new mention too: CPU only, here for the CPU figure
    cpu_seconds = time.process_time() - cpu_started
    assert len(new) == len(items) - len(matched_seen), "half of the items must be new"
    assert channel.sent == 1, "one bundled email for the one recipient (no urgent mention)"
    stack.client("dynamodb").delete_table(TableName=table)  # each cycle finds DynamoDB Local as the first did
    return elapsed, store.requests, cpu_seconds, wire_requests


def naive_cycle(stack: LocalStack, matched_seen: list[MatchedMention], items: list[Mention],
                wire: Callable[[], int] = _no_wire) -> tuple[float, int, int]:
    """The naive way (one GetItem, and one PutItem if absent, per item). Out: its seconds, the requests it
    made, and those ``wire`` saw meanwhile."""
    config = load_config(ROOT / "listen.example.yaml")
    table = f"bench-{uuid.uuid4().hex[:8]}"
    stack.create_table(table)
    store = Store(stack.client("dynamodb"), table)
    _seed(store, matched_seen)
    rules = compile_rules(config.rule_specs(), exclude=config.exclude)
    client = stack.client("dynamodb", client_config())
    requests = 0
    wire_before = wire()
    started = time.perf_counter()
    for item in items:
        matches = rules.match(item)
        if not matches:
            continue
        key = {"pk": {"S": mention_pk(item.key)}, "sk": {"S": "M"}}
        requests += 1
        if "Item" in client.get_item(TableName=table, Key=key):
            continue
        requests += 1
        client.put_item(TableName=table, Item={**key, "data": {"S": json.dumps(matched_to_dict(
            MatchedMention(item, matches)))}, "state": {"S": "new"}})
    elapsed = time.perf_counter() - started
    wire_requests = wire() - wire_before
    stack.client("dynamodb").delete_table(TableName=table)
    return elapsed, requests, wire_requests


def lambda_memory_figures(cpu_seconds: float, requests: int) -> list[tuple[str, float]]:
    """The poll function's memory from the measured CPU seconds of a 10,000-item cycle: Lambda gives CPU in
    proportion to memory, one vCPU at 1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-
    memory.html), so the cycle's work after fetching takes ``cpu_seconds * 1769 / MB`` plus its DynamoDB
    round trips (5 ms each, as if none overlapped). It must fit in the Lambda timeout less the fetch budget
    (.chalice/config.json), with half of that to spare (Lambda's CPU may be slower than this machine's, and
    parsing the fetched items takes CPU inside the fetch budget)."""
    chalice = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    budget = chalice["lambda_timeout"] - float(chalice["environment_variables"]["FETCH_BUDGET_SECONDS"])
    chosen = chalice["lambda_functions"]["poll"]["lambda_memory_size"]

    def cycle_s(mb: int) -> float:
        return cpu_seconds * VCPU_MB / mb + requests * RTT_S

    needed = VCPU_MB * cpu_seconds / max(budget / 2 - requests * RTT_S, 1e-9)  # chosen: next 128 MB up
    return [
        ("cycle_cpu_s_10k_items", round(cpu_seconds, 2)),
        ("cycle_after_fetch_budget_s", budget),
        *((f"lambda_cycle_s_10k_items_at_{mb}mb", round(cycle_s(mb), 1)) for mb in LAMBDA_SIZES_MB),
        ("lambda_memory_mb_needed_10k_items", round(needed)),
        ("lambda_memory_mb_poll", chosen),
        ("lambda_memory_ok", float(cycle_s(chosen) <= budget / 2)),
    ]


def run() -> list[tuple[str, float]]:
    ratio, app_s, boto3_s = cold_import_ratio()
    items = fetched_items(ITEMS)
    config = load_config(ROOT / "listen.example.yaml")
    rules = compile_rules(config.rule_specs(), exclude=config.exclude)
    seen = rules.match_many(items[: ITEMS // 2])
    with LocalStack(table_name="bench-unused") as stack:
        optimized_cycle(stack, seen, items)  # warm up the JVM of DynamoDB Local for both ways
        naive_seconds, naive_requests, _ = naive_cycle(stack, seen, items)
        runs = [optimized_cycle(stack, seen, items) for _ in range(3)]
        seconds, requests = statistics.median(r[0] for r in runs), runs[0][1]
        cpu_seconds = statistics.median(r[2] for r in runs)
        direct_url = stack.dynamodb_url
        host, port = direct_url.removeprefix("http://").split(":")
        with DelayProxy((host, int(port)), RTT_S) as proxy:
            stack.dynamodb_url = proxy.url  # every client of these cycles goes through the proxy

            def wire() -> int:
                return proxy.requests

            try:
                batched = [optimized_cycle(stack, seen, items, wire)]
                naive_parts = []
                for part in range(RTT_PARTS):  # interleaved, so load swings on the machine reach both ways alike
                    naive_parts.append(naive_cycle(stack, seen, items[part::RTT_PARTS], wire))
                    batched.append(optimized_cycle(stack, seen, items, wire))
            finally:
                stack.dynamodb_url = direct_url
    # each naive part between two batched cycles: its ratio is against their mean
    brackets = [(before[0] + after[0]) / 2 for before, after in itertools.pairwise(batched)]
    ratios = [naive[0] * RTT_PARTS / b for naive, b in zip(naive_parts, brackets, strict=True)]
    naive_rtt_seconds, rtt_seconds = sum(n[0] for n in naive_parts), statistics.median(b[0] for b in batched)
    return [
        ("cold_import_app_s", round(app_s, 3)),
        ("cold_import_boto3_s", round(boto3_s, 3)),
        ("cold_import_ratio_vs_boto3", round(ratio, 2)),
        ("pipeline_items_per_s", round(ITEMS / seconds)),
        ("naive_pipeline_items_per_s", round(ITEMS / naive_seconds)),
        ("pipeline_speedup_vs_naive", round(naive_seconds / seconds, 1)),
        ("ddb_requests_per_item", round(requests / ITEMS, 4)),
        ("pipeline_items_per_s_rtt_5ms", round(ITEMS / rtt_seconds)),
        ("naive_pipeline_items_per_s_rtt_5ms", round(ITEMS / naive_rtt_seconds)),
        ("pipeline_speedup_vs_naive_rtt_5ms", round(statistics.median(ratios), 1)),
        ("pipeline_speedup_vs_naive_rtt_5ms_min", round(min(ratios), 1)),
        ("pipeline_speedup_vs_naive_rtt_5ms_max", round(max(ratios), 1)),
        ("pipeline_ddb_requests_batched", statistics.median(b[3] for b in batched)),
        ("pipeline_ddb_requests_naive", sum(n[2] for n in naive_parts)),
        ("ddb_requests_batched_cycle", statistics.median(b[1] for b in batched)),
        ("ddb_put_workers", PARALLEL_PUTS),
        *lambda_memory_figures(cpu_seconds, requests),
        ("naive_ddb_requests_per_item", round(naive_requests / ITEMS, 4)),
    ]


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
