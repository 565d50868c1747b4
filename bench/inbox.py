"""The inbox's server time on the local stack, beside the naive way.

10,000 mentions (the bench corpus matched by listen.example.yaml, with triage drawn at random:
a fifth opportunities, priorities 0-99, some handled) are stored on DynamoDB Local over the last
30 days (about 333 a day), through ``Store.store_new_mentions`` as the pipeline stores them. Then
the page the owner opens is rendered by ``InboxPages.list_page`` (the store's reads included, the
HTTP and Lambda layers not), 20 times after one warm-up:

- inbox_first_page_p95_ms: ``/in/`` (the last 7 days; the index holds each day in the inbox's order,
  so the page Queries 51 entries a day and merges the days);
- inbox_filtered_page_p95_ms: ``/in/?state=open&group=brand&sentiment=negative`` (the opportunities'
  part of each day, read 51 at a time until the page is full);
- inbox_whole_days_first_page_p95_ms, inbox_whole_days_filtered_page_p95_ms: the way before (every entry of
  the 7 days read, about 2,333, then filtered and ordered in Python), for comparison;
- inbox_search_page_p95_ms: ``/in/?q=<a word>`` (the last 30 days: every entry);
- inbox_naive_page_p95_ms: the naive way: a Scan of the whole table (every mention item, ``data``
  and all) filtered and ordered in Python, as the first page;
- inbox_first_page_vs_naive: the naive time over the first page's (higher is better);
- inbox_first_page_read_units, inbox_whole_days_read_units, inbox_naive_read_units: the read capacity each consumed;
- inbox_state_change_read_units, inbox_state_change_write_units: what one ``set_mention_state`` costs (the
  index's sort key holds the order, so a change of state reads the mention's state, facets and time stored
  and moves its index entry: a delete and a put in the index).

    python -m bench.inbox
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.pipeline import fetched_items
from chalicelib.config import load_config
from chalicelib.links import TokenSigner
from chalicelib.rules import compile_rules
from chalicelib.store import Store, client_config
from chalicelib.store.inbox import InboxEntry, days_between, entry_from, facets_of, rank
from chalicelib.triage import Triage
from chalicelib.web.inbox import InboxPages, Viewed, page_of, parse_filter
from offline.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 10_000
DAYS = 30
RUNS = 20
ME = Viewed("Owner", "csrf")


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def timed(work: Callable[[], Any], store: Store) -> tuple[float, float]:
    """p95 of ``work`` in ms over ``RUNS`` runs after a warm-up, and the read units of one run."""
    work()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    before = store.read_units
    work()
    return p95(times), store.read_units - before


def corpus() -> list[Any]:
    config = load_config(ROOT / "listen.example.yaml")
    rules = compile_rules(config.rule_specs(), exclude=config.exclude)
    matched = rules.match_many(fetched_items(ITEMS * 2))
    unique = list({m.mention.key: m for m in matched}.values())[:ITEMS]
    rng = random.Random(18)
    labels = ("positive", "neutral", "negative")
    return [replace(m, triage=Triage(0.0, rng.choice(labels), frozenset(), rng.randrange(100), (),  # type: ignore[arg-type]
                                     rng.random() < 0.2)) for m in unique]


def run() -> list[tuple[str, float]]:
    items = corpus()
    config = load_config(ROOT / "listen.example.yaml")
    now = time.time()
    with LocalStack(table_name="bench-unused") as stack:
        table = f"bench-{uuid.uuid4().hex[:8]}"
        stack.create_table(table)
        client = stack.client("dynamodb", client_config())
        at = [now]
        store = Store(client, table, clock=lambda: at[0])
        per_day = -(-len(items) // DAYS)
        for day in range(DAYS):
            at[0] = now - day * 86400 - 60
            store.store_new_mentions(items[day * per_day:(day + 1) * per_day], f"bench-{day}", 0)
        before = (store.read_units, store.write_units)
        for m in items[::7]:
            store.set_mention_state(m.mention.key, "handled")
        changed = len(items[::7])
        change_reads, change_writes = ((store.read_units - before[0]) / changed,
                                       (store.write_units - before[1]) / changed)
        at[0] = now
        pages = InboxPages(config, store, TokenSigner(b"k" * 32), time.time)
        word = next(w for w in items[0].mention.text.split() if len(w) > 4)

        def page(**params: str) -> Callable[[], Any]:
            def render() -> Any:
                result = pages.list_page(ME, params)
                assert result.status == 200, result.body
                return result
            return render

        def naive() -> list[InboxEntry]:
            entries: list[InboxEntry] = []
            request: dict[str, Any] = {"TableName": table}
            while True:
                response = store._call("scan", **request)
                for i in response["Items"]:
                    if i["sk"]["S"] == "M" and i["stored_at"]["S"] >= since:
                        stored = store._stored(i)
                        entries.append(entry_from(stored.key, stored.stored_at, stored.state, None,
                                                  facets_of(stored.item)))
                if "LastEvaluatedKey" not in response:
                    return sorted(entries, key=rank)[:50]
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

        def whole_days(**params: str) -> Callable[[], Any]:
            def render() -> Any:
                f = parse_filter(params, networks=sorted(config.networks), rules=[r.name for r in config.rules],
                                 today=pages._today())
                return page_of(store.inbox_entries(days_between(f.first, f.last)), f, ME.name)
            return render

        since = time.strftime("%Y-%m-%d", time.gmtime(now - 6 * 86400))
        first, first_units = timed(page(), store)
        filtered, _ = timed(page(state="open", group="brand", sentiment="negative"), store)
        search, _ = timed(page(q=word), store)
        scan, scan_units = timed(naive, store)
        whole_first, whole_units = timed(whole_days(), store)
        whole_filtered, _ = timed(whole_days(state="open", group="brand", sentiment="negative"), store)
        stack.client("dynamodb").delete_table(TableName=table)
    return [
        ("inbox_mentions_stored", len(items)),
        ("inbox_first_page_p95_ms", round(first, 1)),
        ("inbox_filtered_page_p95_ms", round(filtered, 1)),
        ("inbox_search_page_p95_ms", round(search, 1)),
        ("inbox_whole_days_first_page_p95_ms", round(whole_first, 1)),
        ("inbox_whole_days_filtered_page_p95_ms", round(whole_filtered, 1)),
        ("inbox_naive_page_p95_ms", round(scan, 1)),
        ("inbox_first_page_vs_naive", round(scan / first, 2)),
        ("inbox_first_page_read_units", round(first_units, 1)),
        ("inbox_whole_days_read_units", round(whole_units, 1)),
        ("inbox_naive_read_units", round(scan_units, 1)),
        ("inbox_state_change_read_units", round(change_reads, 2)),
        ("inbox_state_change_write_units", round(change_writes, 2)),
    ]


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
