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

import logging
import os
import random
import time
from typing import Any

import yaml

from chalicelib.config import parse_config
from chalicelib.runtime import build
from chalicelib.store import Store
from offline.demo import DEMO_SECRETS, DemoClock, network_options
from offline.replay import make_server
from offline.replay.hackernews import comment_hit, story_hit
from offline.stack import LocalStack

PRICES_AS_OF = "2026-11 (AWS us-east-1 list prices, on-demand; check the pricing pages before quoting)"
PRICES = {
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit (after the Nov 2024 price cut)
    "dynamodb_read_unit": 0.125 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "ses_email": 0.10 / 1000,
    "api_request": 3.50 / 1e6,  # REST API
    "logs_gb": 0.50,  # CloudWatch Logs ingestion
}
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
LOG_BYTES_PER_POLL = 2500  # one INFO line and about ten EMF metric lines


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
            errors.update(pipeline.run_cycle().errors.values())
            cpu_seconds += time.process_time() - started
            clock.offset += 60
        emails = len(stack.sent_emails())
    print("# network errors in the measured hour (rate limits a real account meets with 20 search terms):",
          sorted(errors) or "none")
    print("# capacity units by store method in the hour:", {k: round(v) for k, v in
          sorted((store.units_by_caller or {}).items(), key=lambda kv: -kv[1])})
    return {"read_units": store.read_units, "write_units": store.write_units, "requests": store.requests,
            "cpu_seconds": cpu_seconds, "emails_measured": emails, "mentions": item_id - 1}


def monthly(hour: dict[str, float]) -> list[tuple[str, float]]:
    polls = 60 * HOURS_PER_MONTH
    digests = 24 * 30
    invocations = polls + digests + 300  # ~10 action clicks a day
    lambda_seconds = hour["cpu_seconds"] / 60 * polls
    ddb = hour["read_units"] * HOURS_PER_MONTH * PRICES["dynamodb_read_unit"] + \
        hour["write_units"] * HOURS_PER_MONTH * PRICES["dynamodb_write_unit"]
    ses = EMAILS_PER_DAY * 30 * PRICES["ses_email"]
    ses_measured = hour["emails_measured"] * HOURS_PER_MONTH * PRICES["ses_email"]
    api = 300 * PRICES["api_request"]
    logs_gb = polls * LOG_BYTES_PER_POLL / 1e9
    lambda_list = invocations * PRICES["lambda_request"] + lambda_seconds * MEMORY_GB * PRICES["lambda_gb_second"]
    pessimistic = invocations * PRICES["lambda_request"] + polls * 10 * MEMORY_GB * PRICES["lambda_gb_second"]
    total = ddb + ses + api  # Lambda, logs, EventBridge, SSM and KMS fit their always-free tiers
    return [
        ("monthly_cost_usd_before_sms", round(total, 2)),
        ("dynamodb_usd", round(ddb, 3)),
        ("dynamodb_read_units_per_hour", round(hour["read_units"], 1)),
        ("dynamodb_write_units_per_hour", round(hour["write_units"], 1)),
        ("dynamodb_requests_per_hour", hour["requests"]),
        ("ses_usd", round(ses, 3)),
        ("ses_usd_at_the_measured_email_rate", round(ses_measured, 3)),
        ("api_gateway_usd", round(api, 4)),
        ("lambda_usd_free_tier", 0.0),
        ("lambda_usd_without_free_tier", round(lambda_list, 3)),
        ("lambda_usd_without_free_tier_at_10s_per_poll", round(pessimistic, 3)),
        ("lambda_gb_seconds_at_10s_per_poll", round(polls * 10 * MEMORY_GB)),
        ("logs_gb", round(logs_gb, 3)),
        ("mentions_in_the_measured_hour", hour["mentions"]),
        ("emails_in_the_measured_hour", hour["emails_measured"]),
    ]


def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    for name, value in monthly(measure_one_hour()):
        print(f"{name}: {value}")
    print(f"# prices as of {PRICES_AS_OF}; SMS fees are extra and depend on the country")
    print("# what a small business would otherwise pay a month: " + "; ".join(f"{n} {p}" for n, p in OTHER_TOOLS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
