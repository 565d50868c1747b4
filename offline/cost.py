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
import os
import random
import time
from typing import Any

import yaml

from chalicelib.config import parse_config
from chalicelib.observability import log_cycle, publish_cycle
from chalicelib.runtime import build
from chalicelib.store import Store
from infra.secret_setup import needed_secrets
from offline.demo import DEMO_SECRETS, DemoClock, network_options
from offline.replay import make_server
from offline.replay.hackernews import comment_hit, story_hit
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
EMAILS_PER_DAY, SMS_PER_DAY = 30, 3
HOURS_PER_MONTH = 720
MEMORY_GB = 0.256  # lambda_memory_size in .chalice/config.json
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


def measure_one_hour() -> dict[str, float]:
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
        store = Store(stack.client("dynamodb"), "cost-reference", clock=clock)
        store.units_by_caller = {}
        pipeline = build(config, store, signing_key=b"k" * 40, clock=clock).pipeline
        from offline.replay.rss import demo_items as feed_items

        replay.add_items("rss", feed_items(int(clock()) - 86400, {}))  # the feeds exist (their items match nothing)
        per_minute = MENTIONS_PER_DAY / 1440
        cpu_seconds, item_id = 0.0, 1
        errors: set[str] = set()
        emitted = io.StringIO()  # what the poll handler writes to its log: the cycle line and the EMF metrics
        for minute in range(60):
            now = int(clock())
            arriving = int(per_minute) + (rng.random() < per_minute % 1)  # on average 1,000 a day
            for _ in range(arriving if minute else 0):
                rule = rng.randrange(20)
                replay.add_items("hackernews", [story_hit(item_id, now - 5, f"Talking about Beanword{rule} today")
                                                if item_id % 3 else
                                                comment_hit(item_id, now - 5, f"Beanword{rule} again", story_id=1,
                                                            story_title="x")])
                item_id += 1
            started = time.process_time()
            report = pipeline.run_cycle()
            cpu_seconds += time.process_time() - started
            with contextlib.redirect_stdout(emitted):
                log_cycle(report)
                publish_cycle(report)
            errors.update(report.errors.values())
            clock.offset += 60
        emails = len(stack.sent_emails())
        table_bytes = table_size_bytes(stack.client("dynamodb"), "cost-reference")
        secrets = len(needed_secrets(config))
    print("# network errors in the measured hour (rate limits a real account meets with 20 search terms):",
          "; ".join(sorted(errors)) or "none")
    print("# capacity units by store method in the hour:", ", ".join(
        f"{k} {round(v)}" for k, v in sorted((store.units_by_caller or {}).items(), key=lambda kv: -kv[1])))
    text = emitted.getvalue()
    return {"read_units": store.read_units, "write_units": store.write_units, "requests": store.requests,
            "cpu_seconds": cpu_seconds, "emails_measured": emails, "mentions": item_id - 1,
            "log_bytes_per_poll": len(text.encode()) / 60 + LAMBDA_PLATFORM_LOG_BYTES,
            "metric_series": len(metric_series(text)), "table_bytes": table_bytes, "secrets": secrets}


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
    """The table's size as DynamoDB counts it (attribute names and values), from a scan of every item."""
    from boto3.dynamodb.types import TypeDeserializer

    size, start = 0, None
    deserialize = TypeDeserializer().deserialize
    while True:
        page = dynamodb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            size += 100  # DynamoDB's per-item overhead (indexed items)
            for name, value in item.items():
                size += len(name.encode()) + len(str(deserialize(value)).encode())
        start = page.get("LastEvaluatedKey")
        if not start:
            return size


def monthly(hour: dict[str, float]) -> list[tuple[str, float]]:
    polls = 60 * HOURS_PER_MONTH
    digests = 24 * 30
    invocations = polls + digests + 300  # ~10 action clicks a day
    lambda_seconds = hour["cpu_seconds"] / 60 * polls
    requests = hour["read_units"] * HOURS_PER_MONTH * PRICES["dynamodb_read_unit"] + \
        hour["write_units"] * HOURS_PER_MONTH * PRICES["dynamodb_write_unit"]
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
    lambda_list = invocations * PRICES["lambda_request"] + lambda_seconds * MEMORY_GB * PRICES["lambda_gb_second"]
    pessimistic = invocations * PRICES["lambda_request"] + polls * 10 * MEMORY_GB * PRICES["lambda_gb_second"]
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
        ("dynamodb_requests_per_hour", hour["requests"]),
        ("ses_usd_at_the_measured_email_rate", round(ses_measured, 3)),
        ("lambda_usd_free_tier", 0.0),
        ("lambda_usd_without_free_tier", round(lambda_list, 3)),
        ("lambda_usd_without_free_tier_at_10s_per_poll", round(pessimistic, 3)),
        ("lambda_gb_seconds_at_10s_per_poll", round(polls * 10 * MEMORY_GB)),
        ("mentions_in_the_measured_hour", hour["mentions"]),
        ("emails_in_the_measured_hour", hour["emails_measured"]),
    ]


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    try:
        measured = measure_one_hour()
    except StackError as err:  # no Java or DynamoDB Local: said, not a traceback
        print(f"make cost needs the local stack (DynamoDB Local and moto): {err}. Run make install first.")
        return 1
    for name, value in monthly(measured):
        print(f"{name}: {value}")
    print(f"# prices as of {PRICES_AS_OF}; SMS fees are extra and depend on the country")
    print("# what a small business would otherwise pay a month: " + "; ".join(f"{n} {p}" for n, p in OTHER_TOOLS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
