"""What a *Not relevant* click costs now that its suggestions are tested against the week.

- not_relevant_suggestions_ms: the rule's mentions of the last 7 days read
  (``Store.rule_mentions_since``: the week's entries of the small ``inbox`` index, then only the
  rule's mentions) and every candidate exclusion tested against them
  (``noise.screened_exclusions``), with 10,000 mentions in the table on DynamoDB Local, stored
  evenly over the 90 days a mention is kept (``MENTION_TTL_DAYS``: about 780 in the week); median
  of 3, after one warm-up. (Before the index, all 10,000 were stored at once: the table was the week.)
- not_relevant_read_units: the read capacity units one such read consumes.
- not_relevant_scan_read_units: what the former way, a filtered Scan of the table, consumes on
  that table (a Scan is charged for everything it reads, filtered out or not: the whole table).
- naive_suggestions_ms: the unscreened suggestions (``noise.suggest_exclusions``, no read),
  the way before.

    python -m bench.not_relevant
"""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path

from bench.pipeline import fetched_items
from chalicelib.config import load_config
from chalicelib.noise import screened_exclusions, suggest_exclusions
from chalicelib.rules import compile_rules
from chalicelib.store import MENTION_TTL_DAYS, Store, client_config
from offline.stack import LocalStack

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 10_000
WEEK = 7 * 86400


def run() -> list[tuple[str, float]]:
    config = load_config(ROOT / "listen.example.yaml")
    rules = compile_rules(config.rule_specs(), exclude=config.exclude)
    matched = rules.match_many(fetched_items(ITEMS))
    with LocalStack(table_name="bench-unused") as stack:
        table = f"bench-{uuid.uuid4().hex[:8]}"
        stack.create_table(table)
        client = stack.client("dynamodb", client_config())
        now = time.time()
        at = [now]
        store = Store(client, table, clock=lambda: at[0])
        per_day = -(-len(matched) // MENTION_TTL_DAYS)
        for day in range(MENTION_TTL_DAYS):  # the newest first: matched[0], the clicked one, this week
            at[0] = now - day * 86400 - 60
            store.store_new_mentions(matched[day * per_day:(day + 1) * per_day], f"bench-{day}", 0)
        at[0] = now
        target = matched[0]
        rule = next(r for r in config.rules if r.name == target.matches[0].rule)

        def click() -> int:
            past = [(m.item.mention, m.state) for m in store.rule_mentions_since(rule.name, time.time() - WEEK)]
            return len(screened_exclusions(target.mention, rule.effective_query, past))

        click()  # warm-up
        before = store.read_units
        store.rule_mentions_since(rule.name, time.time() - WEEK)
        read_units = store.read_units - before
        times = []
        for _ in range(3):
            started = time.perf_counter()
            click()
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        suggest_exclusions(target.mention, rule.effective_query)
        naive = time.perf_counter() - started
        units, request = 0.0, {"TableName": table, "ReturnConsumedCapacity": "TOTAL"}
        while True:
            response = client.scan(**request)
            units += float(response.get("ConsumedCapacity", {}).get("CapacityUnits", 0))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return [
        ("not_relevant_mentions_stored", len(matched)),
        ("not_relevant_suggestions_ms", round(statistics.median(times) * 1000)),
        ("not_relevant_read_units", round(read_units, 1)),
        ("not_relevant_scan_read_units", round(units, 1)),
        ("naive_suggestions_ms", round(naive * 1000, 2)),
    ]


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
