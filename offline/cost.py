"""`make cost`: what the service costs a month for a reference small business, computed from
request counts measured on the local stack and dated list prices.

The reference business: 20 rules (4 of them urgent), 8 networks, polls every 5 minutes and
every minute for the search terms of urgent rules, about 1,000 mentions a day, 30 emails and
3 SMS a day. One simulated hour of cycles, one simulated minute apart, runs against
DynamoDB Local and the replay server with mentions arriving at that rate; DynamoDB reports
the capacity each request consumed (what on-demand billing charges), and the month is 720
such hours. Lambda time is measured in-process (the replay server answers in microseconds,
where real networks take tens to hundreds of milliseconds, so it is shown beside a
pessimistic 10 s per poll); both fit in the Lambda free tier.

    python -m offline.cost      # prints `monthly_cost_usd_before_sms: <value>` and the parts
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import random
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

from chalicelib.config import parse_config
from chalicelib.networks.bluesky.emulator import measure_real_rate_minute
from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.observability import log_cycle, publish_cycle
from chalicelib.runtime import build
from chalicelib.store import Store, client_config
from infra.secret_setup import needed_secrets
from offline.demo import DEMO_SECRETS, DemoClock, network_options
from offline.replay import make_server
from offline.stack import LocalStack, StackError

PRICES_AS_OF = "2026-11 (AWS us-east-1 list prices, on-demand; check the pricing pages before quoting)"
PRICES = {
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit (after the Nov 2024 price cut)
    "dynamodb_read_unit": 0.125 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "ses_email": 0.10 / 1000,
    "api_request": 3.50 / 1e6,  # REST API
    "logs_gb": 0.50,  # CloudWatch Logs ingestion, beyond 5 GB free a month
    "logs_stored_gb": 0.03,  # CloudWatch Logs storage a GB-month, beyond 5 GB free
    "metric_series": 0.30,  # a custom metric (name + dimension set) a month, beyond 10 free
    "alarm": 0.10,  # a standard-resolution alarm a month, beyond 10 free
    "kms_request": 0.03 / 10000,  # beyond 20,000 free a month
    "pitr_gb": 0.20,  # DynamoDB continuous backups (PITR), a GB-month, no free tier
    "dynamodb_stored_gb": 0.25,  # beyond 25 GB free
}
FREE = {"metric_series": 10, "alarms": 10, "kms_requests": 20000, "logs_gb": 5.0, "dynamodb_stored_gb": 25.0}
OTHER_TOOLS = (  # monthly entry prices a small business would otherwise pay (vendors' public pages, approximate)
    ("F5Bot", "free, keywords on Reddit/HN/Lobsters by email only"),
    ("Syften", "about $20"),
    ("Mention", "about $41"),
    ("Brand24", "about $79"),
    ("Hootsuite (with listening)", "about $99 and up"),
)
NETWORKS = ("hackernews", "stackexchange", "github", "rss", "lobsters", "devto", "mastodon", "reddit")
MENTIONS_PER_DAY = 1000
# Hours of mentions stored before the measured hour (one cycle an hour, not counted): the measured hour is then
# the day's 13th, and the items that grow with the day (stories, digest keys) are as large as on an average hour.
WARM_HOURS = 12
EMAILS_PER_DAY, SMS_PER_DAY = 30, 3
HOURS_PER_MONTH = 720
VCPU_MB = 1769  # Lambda memory that comes with one vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html)
LAMBDA_SIZES_MB = (256, 512, 1024)


def poll_memory_mb() -> int:
    """The poll function's memory, as .chalice/config.json gives it (chosen by `make bench`'s CPU figure)."""
    chalice = json.loads((Path(__file__).resolve().parents[1] / ".chalice" / "config.json").read_text())
    return int(chalice["lambda_functions"]["poll"]["lambda_memory_size"])


# The lines Lambda itself writes per invocation (START, END, REPORT): about 350 bytes (not measured here).
LAMBDA_PLATFORM_LOG_BYTES = 350
# infra/stack.py: Errors of the 5 functions, Throttles of the API, dead letters, deliveries not confirmed
ALARMS_PER_STAGE = 8
# SecureString reads (each one KMS request under the aws/ssm key): the connectors read their credentials through
# a 5-minute cache in a container the every-minute poll keeps warm (12 reads an hour each); every cold start
# reads the signing key once. Assumed cold starts a month: the poll's container recycled every 2 hours (360),
# the hourly digest each time (720), each of ~300 action clicks (300).
SECRET_READS_PER_HOUR_WARM = 12
COLD_STARTS_PER_MONTH = 360 + 720 + 300
MENTION_RETENTION_HOURS = 90 * 24  # store.MENTION_TTL_DAYS: the table holds about this many hours of items


# How on-demand DynamoDB bills (DynamoDB Local reports 4 units for a 100-item transaction that is billed 200):
# transactional reads and writes are two underlying reads or writes of every item ("Capacity Management for
# Transactions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html, in
# awsdocs/amazon-dynamodb-developer-guide doc_source/transaction-apis.md @53f0682fdf81f0cf792a3673bd61af12fc2cd4c5);
# a write is billed on the larger of the item's sizes before and after, rounded up to 1 KB, and a failed
# conditional write is billed too ("Item Sizes and Capacity Unit Consumption", doc_source/CapacityUnitCalculations.md
# @21cfcaf78daf2919709dd4df421bf220c537e363). Measured here: DynamoDB Local reports plain requests right.
TRANSACTION_FACTOR = 2
WRITE_UNIT_BYTES = 1024
KEY_ATTRIBUTES = ("pk", "sk")


def _number_size(text: str) -> int:
    """A number's size: 1 byte per two significant digits, plus 1 (leading and trailing zeroes trimmed)."""
    digits = format(abs(Decimal(text)), "f").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: Mapping[str, Any]) -> int:
    """The size DynamoDB counts for one typed attribute value (``{"S": ...}``, ``{"M": ...}``...), name excluded."""
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "L":
        return 3 + sum(attribute_size(v) for v in data)
    if kind == "M":
        return 3 + item_size(data)
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """An item's size as DynamoDB bills it: the lengths of its attribute names and values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write request units of one plain write of an item of ``size`` bytes (at least one)."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


class BilledClient:
    """A DynamoDB client whose ``transact_write_items`` reports the units on-demand bills: two write
    units per item per KB of the larger of its sizes before and after (DynamoDB Local reports a few
    for the whole transaction). Failed conditional writes, which DynamoDB bills but the Store cannot
    count (it counts what responses report), are added up in ``unreported_write_units``. The items'
    sizes are read through the wrapped client, which the Store does not count."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.unreported_write_units = 0.0
        self.transaction_items = 0
        self.transaction_units = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _stored_size(self, table: str, key: Mapping[str, Any]) -> int:
        item = self._client.get_item(TableName=table, Key=dict(key), ConsistentRead=True).get("Item")
        return item_size(item) if item else 0

    @staticmethod
    def _target(part: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        (action, spec), = part.items()
        key = spec["Key"] if action != "Put" else {k: spec["Item"][k] for k in KEY_ATTRIBUTES}
        return spec["TableName"], key

    def transact_write_items(self, **kwargs: Any) -> Any:
        targets = [self._target(part) for part in kwargs["TransactItems"]]
        before = [self._stored_size(table, key) for table, key in targets]
        try:
            response = self._client.transact_write_items(**kwargs)
        except ClientError:
            self.unreported_write_units += sum(TRANSACTION_FACTOR * write_units(size) for size in before)
            raise
        after = [self._stored_size(table, key) for table, key in targets]
        units = float(sum(TRANSACTION_FACTOR * write_units(max(b, a)) for b, a in zip(before, after, strict=True)))
        self.transaction_items += len(targets)
        self.transaction_units += units
        if "ReturnConsumedCapacity" in kwargs:
            response["ConsumedCapacity"] = [{"TableName": targets[0][0], "CapacityUnits": units}]
        return response

    def _plain_write(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":  # billed all the same
                key = kwargs.get("Key") or {k: kwargs["Item"][k] for k in KEY_ATTRIBUTES}
                self.unreported_write_units += write_units(self._stored_size(kwargs["TableName"], key))
            raise

    def put_item(self, **kwargs: Any) -> Any:
        return self._plain_write("put_item", **kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        return self._plain_write("update_item", **kwargs)

    def delete_item(self, **kwargs: Any) -> Any:
        return self._plain_write("delete_item", **kwargs)


def reference_config(replay: Any) -> Any:
    rules = [{"name": f"rule-{i:02d}", "group": ("brand", "product", "competitor", "industry")[i % 4],
              "keywords": [f"Beanword{i}"], **({"urgent": True} if i < 4 else {})} for i in range(20)]
    options = network_options(replay)
    data = {
        "business": {"name": "Reference Café"},
        "rules": rules,
        "networks": {name: options[name] for name in NETWORKS},
        "recipients": [{"name": "Owner", "email": "owner@reference.example", "phone": "+351912345678",
                        "timezone": "Europe/Lisbon"}],
        "alerts": {"from_address": "alerts@reference.example", "action_base_url": "https://example.com/api",
                   "email_priority": 40},  # instant email from priority 40; below, the daily digest
        "secrets": {"signing_key_parameter": "/social-listening/local/signing-key"},
    }
    return parse_config(yaml.safe_dump(data), "reference.yaml")


def _add_mentions(replay: Any, rng: random.Random, count: int, first_id: int, now: int) -> int:
    """``count`` new Hacker News items naming a random rule's keyword; the next free item id."""
    for item_id in range(first_id, first_id + count):
        rule = rng.randrange(20)
        replay.add_items("hackernews", [story_hit(item_id, now - 5, f"Talking about Beanword{rule} today")
                                        if item_id % 3 else
                                        comment_hit(item_id, now - 5, f"Beanword{rule} again", story_id=1,
                                                    story_title="x")])
    return first_id + count


WARM_CATCH_UP_CYCLES = 30  # at most this many cycles a warm hour (one a minute) to store its mentions


def catch_up(run_cycle: Any, clock: Any) -> int:
    """Cycles a minute apart until one stores no new mention (a network's pages per cycle are
    capped, so an hour's mentions fetched in one cycle can take several): the measured hour
    then starts from a table that holds every earlier mention, as polls a minute apart leave it,
    and stores only its own. The cycles run; ``RuntimeError`` if they never catch up."""
    for cycles in range(1, WARM_CATCH_UP_CYCLES + 1):
        report = run_cycle()
        clock.offset += 60
        if not report.new_mentions:
            return cycles
    raise RuntimeError(f"the warm-up cycles did not catch up in {WARM_CATCH_UP_CYCLES} cycles")


def measure_one_hour(mentions_per_day: float = MENTIONS_PER_DAY, warm_hours: int = WARM_HOURS) -> dict[str, float]:
    """One measured hour of cycles a minute apart, after ``warm_hours`` hours of mentions stored by one
    cycle an hour (not counted): the day's items are then as large as on an average hour of the day."""
    rng = random.Random(5)
    with LocalStack(table_name="cost-reference") as stack, make_server() as replay:
        os.environ.update(stack.env())
        stack.prepare_aws(sender="alerts@reference.example",
                          signing_key_parameter="/social-listening/local/signing-key", signing_key="k" * 40)
        for name, value in DEMO_SECRETS.items():
            stack.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        config = reference_config(replay)
        clock = DemoClock()
        for api in replay.apis.values():
            if hasattr(api, "clock"):
                api.clock = clock
        billed = BilledClient(stack.client("dynamodb", client_config()))  # as the Lambda has it
        store = Store(billed, "cost-reference", clock=clock)
        pipeline = build(config, store, signing_key=b"k" * 40, clock=clock).pipeline
        from chalicelib.networks.rss.emulator import demo_items as feed_items

        replay.add_items("rss", feed_items(int(clock()) - 86400, {}))  # the feeds exist (their items match nothing)
        item_id, warm_cycles = 1, 0
        for _ in range(warm_hours):
            hour_start = clock.offset
            item_id = _add_mentions(replay, rng, round(mentions_per_day / 24), item_id, int(clock()))
            warm_cycles += catch_up(pipeline.run_cycle, clock)
            clock.offset = hour_start + 3600
        warm_mentions, warm_bytes = item_id - 1, table_size_bytes(stack.client("dynamodb"), "cost-reference")
        store.read_units = store.write_units = 0.0
        store.requests = 0
        store.units_by_caller = {}
        billed.unreported_write_units = billed.transaction_units = 0.0
        billed.transaction_items = 0
        per_minute = mentions_per_day / 1440
        cpu_seconds, stored = 0.0, 0
        errors: set[str] = set()
        emitted = io.StringIO()  # what the poll handler writes to its log: the cycle line and the EMF metrics
        for minute in range(60):
            arriving = int(per_minute) + (rng.random() < per_minute % 1)  # on average mentions_per_day a day
            item_id = _add_mentions(replay, rng, arriving if minute else 0, item_id, int(clock()))
            started = time.process_time()
            report = pipeline.run_cycle()
            cpu_seconds += time.process_time() - started
            stored += report.new_mentions
            with contextlib.redirect_stdout(emitted):
                log_cycle(report)
                publish_cycle(report)
            errors.update(report.errors.values())
            clock.offset += 60
        emails = len(stack.sent_emails())
        table_bytes = table_size_bytes(stack.client("dynamodb"), "cost-reference") - warm_bytes
        # The digest function's inbox backfill (chalicelib/store/backfill.py), with its own counters (not the hour's):
        # the one pass over this table, then what each hourly run costs once it is done.
        backfill = Store(stack.client("dynamodb", client_config()), "cost-reference", clock=clock)
        while not backfill.backfill_inbox().done:
            pass
        backfill_once, backfill.read_units = backfill.read_units, 0.0
        backfill.backfill_inbox()
        secrets = len(needed_secrets(config))
    print(f"# {mentions_per_day:g} mentions a day: network errors in the measured hour:",
          "; ".join(sorted(errors)) or "none")
    print("# capacity units by store method in the hour:", ", ".join(
        f"{k} {round(v)}" for k, v in sorted((store.units_by_caller or {}).items(), key=lambda kv: -kv[1])))
    text = emitted.getvalue()
    return {"read_units": store.read_units, "write_units": store.write_units + billed.unreported_write_units,
            "transaction_write_units": billed.transaction_units, "transaction_items": billed.transaction_items,
            "requests": store.requests, "cpu_seconds": cpu_seconds, "emails_measured": emails,
            "mentions": item_id - 1 - warm_mentions, "mentions_before": warm_mentions,
            "mentions_stored": stored, "warm_cycles": warm_cycles,
            "log_bytes_per_poll": len(text.encode()) / 60 + LAMBDA_PLATFORM_LOG_BYTES,
            "metric_series": len(metric_series(text)), "table_bytes": table_bytes, "secrets": secrets,
            "backfill_once_read_units": backfill_once, "backfill_done_read_units": backfill.read_units}


def metric_series(emf_and_logs: str) -> set[tuple[str, str, tuple[str, ...]]]:
    """The distinct (namespace, metric name, dimension values) series in the EMF lines of a log: what
    CloudWatch bills as custom metrics."""
    series = set()
    for line in emf_and_logs.splitlines():
        blob = json.loads(line)
        for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive["Dimensions"]:
                values = tuple(f"{d}={blob[d]}" for d in dimensions)
                for metric in directive["Metrics"]:
                    series.add((directive["Namespace"], metric["Name"], values))
    return series


def table_size_bytes(dynamodb: Any, table: str) -> int:
    """The table's size as DynamoDB counts it (``item_size`` plus 100 bytes of overhead an item), from a scan."""
    size, start = 0, None
    while True:
        page = dynamodb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        size += sum(100 + item_size(item) for item in page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return size


def monthly(hour: dict[str, float]) -> list[tuple[str, float]]:
    polls = 60 * HOURS_PER_MONTH
    digests = 24 * 30
    invocations = polls + digests + 300  # ~10 action clicks a day
    memory_gb = poll_memory_mb() / 1024
    cpu_per_poll = hour["cpu_seconds"] / 60  # a poll's CPU here; at M MB Lambda gives M / 1769 of a vCPU

    def poll_usd(mb: int) -> float:  # CPU-bound part only (the replay server answers at once)
        return polls * cpu_per_poll * VCPU_MB / mb * mb / 1024 * PRICES["lambda_gb_second"]

    lambda_seconds = cpu_per_poll * VCPU_MB / poll_memory_mb() * polls
    backfill = digests * hour["backfill_done_read_units"] * PRICES["dynamodb_read_unit"]  # once done, a read a run
    requests = hour["read_units"] * HOURS_PER_MONTH * PRICES["dynamodb_read_unit"] + \
        hour["write_units"] * HOURS_PER_MONTH * PRICES["dynamodb_write_unit"] + backfill
    table_gb = hour["table_bytes"] * MENTION_RETENTION_HOURS / 1e9  # the hour's items, kept 90 days
    pitr = table_gb * PRICES["pitr_gb"]
    storage = max(0.0, table_gb - FREE["dynamodb_stored_gb"]) * PRICES["dynamodb_stored_gb"]
    ddb = requests + pitr + storage
    ses = EMAILS_PER_DAY * 30 * PRICES["ses_email"]
    ses_measured = hour["emails_measured"] * HOURS_PER_MONTH * PRICES["ses_email"]
    api = 300 * PRICES["api_request"]
    logs_gb = polls * hour["log_bytes_per_poll"] / 1e9
    logs = max(0.0, logs_gb - FREE["logs_gb"]) * (PRICES["logs_gb"] + PRICES["logs_stored_gb"])
    metrics = max(0, hour["metric_series"] - FREE["metric_series"]) * PRICES["metric_series"]
    alarms = max(0, ALARMS_PER_STAGE - FREE["alarms"]) * PRICES["alarm"]
    kms_requests = hour["secrets"] * SECRET_READS_PER_HOUR_WARM * HOURS_PER_MONTH + COLD_STARTS_PER_MONTH
    kms = max(0, kms_requests - FREE["kms_requests"]) * PRICES["kms_request"]
    lambda_list = invocations * PRICES["lambda_request"] + lambda_seconds * memory_gb * PRICES["lambda_gb_second"]
    pessimistic = invocations * PRICES["lambda_request"] + polls * 10 * memory_gb * PRICES["lambda_gb_second"]
    total = ddb + ses + api + logs + metrics + alarms + kms  # Lambda, EventBridge and SSM fit their free tiers
    return [
        ("monthly_cost_usd_before_sms", round(total, 2)),
        ("cost_metrics_usd", round(metrics, 3)),
        ("cost_alarms_usd", round(alarms, 3)),
        ("cost_kms_usd", round(kms, 3)),
        ("cost_logs_usd", round(logs, 3)),
        ("cost_dynamodb_usd", round(ddb, 3)),
        ("cost_ses_usd", round(ses, 3)),
        ("cost_api_gateway_usd", round(api, 4)),
        ("metric_series", hour["metric_series"]),
        ("alarms_per_stage", ALARMS_PER_STAGE),
        ("kms_requests_per_month", kms_requests),
        ("secure_strings_read", hour["secrets"]),
        ("log_bytes_per_poll", round(hour["log_bytes_per_poll"])),
        ("logs_gb", round(logs_gb, 3)),
        ("dynamodb_requests_usd", round(requests, 3)),
        ("dynamodb_pitr_usd", round(pitr, 4)),
        ("dynamodb_table_gb_after_90_days", round(table_gb, 3)),
        ("dynamodb_read_units_per_hour", round(hour["read_units"], 1)),
        ("dynamodb_write_units_per_hour", round(hour["write_units"], 1)),
        ("dynamodb_transaction_write_units_per_hour", round(hour["transaction_write_units"], 1)),
        ("dynamodb_transaction_items_per_hour", hour["transaction_items"]),
        ("dynamodb_transactions_usd", round(hour["transaction_write_units"] * HOURS_PER_MONTH
                                            * PRICES["dynamodb_write_unit"], 3)),
        ("dynamodb_requests_per_hour", hour["requests"]),
        ("inbox_backfill_read_units_per_digest_run_when_done", round(hour["backfill_done_read_units"], 1)),
        ("inbox_backfill_usd_per_month_when_done", f"{backfill:.5f}"),
        ("inbox_backfill_once_read_units_per_1000_mentions",  # the one pass, over a table of the measured shape
         round(hour["backfill_once_read_units"] * 1000 / max(1, hour["mentions_before"] + hour["mentions_stored"]), 1)),
        ("ses_usd_at_the_measured_email_rate", round(ses_measured, 3)),
        ("lambda_usd_free_tier", 0.0),
        ("lambda_usd_without_free_tier", round(lambda_list, 3)),
        ("lambda_usd_without_free_tier_at_10s_per_poll", round(pessimistic, 3)),
        ("lambda_gb_seconds_at_10s_per_poll", round(polls * 10 * memory_gb)),
        ("lambda_memory_mb_poll", poll_memory_mb()),
        *((f"lambda_poll_cpu_s_at_{mb}mb", round(cpu_per_poll * VCPU_MB / mb, 3)) for mb in LAMBDA_SIZES_MB),
        *((f"lambda_poll_usd_cpu_at_{mb}mb", round(poll_usd(mb), 3)) for mb in LAMBDA_SIZES_MB),
        ("mentions_in_the_measured_hour", hour["mentions"]),
        ("mentions_stored_in_the_measured_hour", hour["mentions_stored"]),
        ("warm_up_cycles", hour["warm_cycles"]),
        ("emails_in_the_measured_hour", hour["emails_measured"]),
    ]


SCALES = (("100_per_day", 100), ("10k_per_day", 10_000))  # besides the reference business's 1,000 a day
# Transactions the store runs, and whether the guarantee needs one: count_job's job mark + the day's counters do
# (exactly once); snooze's two items do, but it runs once per owner action (not measured here). The mentions'
# conditional puts (store_new_mentions) were transactions of 100 until issue 19: each put is conditional on its own
# item and the job lists every key, so they are plain conditional puts now (one write unit per KB, not two).
TRANSACTIONS_NOT_NEEDED: tuple[str, ...] = ()


LAMBDA_FREE_GB_S = 400_000  # a month (https://aws.amazon.com/lambda/pricing/)
CONNECTION_SECONDS = 0.5  # opening the WebSocket, as bench.latency's 0.2-0.8 s a request (not measured on AWS)


def bluesky_firehose_lambda(minute: Mapping[str, float]) -> list[tuple[str, float]]:
    """What reading Bluesky's firehose every minute (a business with many Bluesky terms; the reference
    business does not read Bluesky) adds to the poll Lambda: the connection's wait plus the reader's
    CPU for a minute of posts at the real rate (``measure_real_rate_minute``), at the poll's memory."""
    mb = poll_memory_mb()
    seconds = CONNECTION_SECONDS + minute["cpu_seconds"] * VCPU_MB / mb
    gb_s = 60 * HOURS_PER_MONTH * seconds * mb / 1024
    return [("bluesky_firehose_lambda_s_per_poll", round(seconds, 2)),
            ("bluesky_firehose_lambda_gb_s_per_month", round(gb_s)),
            ("bluesky_firehose_lambda_usd_without_free_tier", round(gb_s * PRICES["lambda_gb_second"], 3)),
            ("bluesky_firehose_changes_the_bill", int(gb_s > LAMBDA_FREE_GB_S))]  # 0: inside the free tier


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    try:
        measured = measure_one_hour()
    except StackError as err:  # no Java or DynamoDB Local: said, not a traceback
        print(f"make cost needs the local stack (DynamoDB Local and moto): {err}. Run make install first.")
        return 1
    for name, value in monthly(measured):
        print(f"{name}: {value}")
    for label, per_day in SCALES:
        figures = dict(monthly(measure_one_hour(per_day)))
        print(f"monthly_cost_usd_{label}: {figures['monthly_cost_usd_before_sms']}")
        for part in ("cost_dynamodb_usd", "dynamodb_transactions_usd", "dynamodb_write_units_per_hour",
                     "dynamodb_read_units_per_hour", "mentions_in_the_measured_hour",
                     "mentions_stored_in_the_measured_hour", "lambda_usd_without_free_tier",
                     *(f"lambda_poll_cpu_s_at_{mb}mb" for mb in LAMBDA_SIZES_MB)):
            print(f"{part}_{label}: {figures[part]}")
    for name, value in bluesky_firehose_lambda(measure_real_rate_minute()):
        print(f"{name}: {value}")
    print("# transactional writes are billed at 2 units per item per KB; not needed as transactions: "
          + ("; ".join(TRANSACTIONS_NOT_NEEDED) or "none"))
    print(f"# prices as of {PRICES_AS_OF}; SMS fees are extra and depend on the country")
    print("# what a small business would otherwise pay a month: " + "; ".join(f"{n} {p}" for n, p in OTHER_TOOLS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
