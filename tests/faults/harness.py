"""What the fault cells share: the ground truth count, crash and fault injection, and the owner's view
(the next daily digest, the networks' health)."""

from __future__ import annotations

import datetime as dt
import random
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib.config import ListenConfig
from chalicelib.runtime import build
from chalicelib.store import Store
from offline.stack import LocalStack
from tests.integration.conftest import SIGNING_KEY
from tests.integration.test_pipeline import Clock, keys_in


@dataclass
class Cell:
    """One cell of the matrix: mentions expected (the replay server's matching items), stored,
    alerted once, alerted more than once, lost (never alerted), and of those lost how many the
    owner can see (in the next digest's "may not have arrived", or on a network's health)."""

    name: str
    expected: int = 0
    stored: int = 0
    once: int = 0
    more: int = 0
    lost: int = 0
    lost_visible: int = 0
    more_visible: int = 0
    problems: list[str] = field(default_factory=list)  # what else the cell checks and found wrong
    note: str = ""

    @property
    def lost_silently(self) -> int:
        return self.lost - self.lost_visible

    @property
    def duplicates(self) -> int:
        return self.more - self.more_visible

    @property
    def ok(self) -> bool:
        return self.lost_silently == 0 and self.duplicates == 0 and not self.problems


RESULTS: list[Cell] = []


class Crash(Exception):
    """An exception nothing in the service catches: the Lambda dies here."""


def crash_once(obj: Any, method: str, *, after: bool = False, skip: int = 0) -> None:
    """Make ``obj.method`` raise ``Crash`` once (before, or ``after`` the real call), after ``skip`` calls."""
    real = getattr(obj, method)
    state = {"calls": 0, "armed": True}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state["calls"] += 1
        fire = state["armed"] and state["calls"] > skip
        if fire and not after:
            state["armed"] = False
            raise Crash(f"before {method}")
        result = real(*args, **kwargs)
        if fire and after:
            state["armed"] = False
            raise Crash(f"after {method}")
        return result

    setattr(obj, method, wrapper)


DDB_OPERATIONS = frozenset({"get_item", "put_item", "update_item", "delete_item", "query", "batch_get_item",
                            "batch_write_item", "transact_write_items"})


class FaultyDynamoDB:
    """A DynamoDB client whose calls fail at ``rate`` (what is left after the SDK's own retries):
    throttling, or cancelled transactions (``transact_only``)."""

    def __init__(self, client: Any, rate: float, *, seed: int = 7, code: str = "ProvisionedThroughputExceededException",
                 transact_only: bool = False) -> None:
        self.client, self.rate, self.code, self.transact_only = client, rate, code, transact_only
        self.rng = random.Random(seed)
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if name not in DDB_OPERATIONS or (self.transact_only and name != "transact_write_items"):
            return attr

        def call(**kwargs: Any) -> Any:
            if self.rate and self.rng.random() < self.rate:
                self.injected += 1
                response: dict[str, Any] = {"Error": {"Code": self.code, "Message": "injected"}}
                if self.code == "TransactionCanceledException":
                    response["CancellationReasons"] = [{"Code": "TransactionConflict"}]
                raise ClientError(response, name)  # type: ignore[arg-type]
            return attr(**kwargs)

        return call


class ProviderFault:
    """Answers a provider's send at the HTTP boundary, inside the SDK's retry loop (moto has no
    fault injection): ``status`` (500, 429...) for the next ``times`` sends, or a read timeout after
    the request reached the provider (``accepted_then_timeout``: the message is sent, no answer came)."""

    def __init__(self, client: Any, event: str, *, times: int = 1, status: int = 0,
                 accepted_then_timeout: bool = False) -> None:
        self.times, self.status, self.accepted = times, status, accepted_then_timeout
        self.seen = 0
        client.meta.events.register(f"before-send.{event}", self._answer)

    def _answer(self, request: Any, **_: Any) -> Any:
        self.seen += 1
        if self.times <= 0:
            return None
        self.times -= 1
        if self.accepted:
            assert request.url.startswith("http://127.0.0.1:")  # the local moto server only
            body = request.body.encode() if isinstance(request.body, str) else request.body
            forwarded = urllib.request.Request(request.url, data=body, method=request.method,  # noqa: S310
                                               headers={k: v for k, v in request.headers.items()})
            urllib.request.urlopen(forwarded, timeout=10).read()  # noqa: S310
            raise ReadTimeoutError(endpoint_url=request.url)
        from botocore.awsrequest import AWSResponse

        code = "InternalFailure" if self.status >= 500 else "TooManyRequestsException"
        json_api = "/v2/" in request.url  # SES v2 answers JSON; SNS answers the query protocol's XML
        body = (b'{"message": "injected"}' if json_api else
                f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>injected</Message>"
                "</Error></ErrorResponse>".encode())

        class Raw:
            def stream(self, **_: Any) -> Any:
                yield body

        headers = {"x-amzn-ErrorType": code}
        return AWSResponse(request.url, self.status, headers, Raw())


def scan(stack: LocalStack, table: str) -> list[dict[str, Any]]:
    client = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_alert(message: Any) -> bool:
    subject = str(message["Subject"])
    return " new mention" in subject or subject.startswith(("New mention", "URGENT"))


def owner_digest(stack: LocalStack, config: ListenConfig, table: str, clock: Clock) -> str:
    """Send the next daily digest (at the first digest hour after the clock) and return what it
    says under "may not have arrived" (empty when nothing)."""
    store = Store(stack.client("dynamodb"), table, clock=clock)
    runtime = build(config, store, signing_key=SIGNING_KEY.encode(), clock=clock)
    recipient = config.recipients[0]
    import zoneinfo

    from chalicelib.digest import digest_time

    local = dt.datetime.fromtimestamp(clock(), tz=zoneinfo.ZoneInfo(recipient.timezone)).date()
    at = digest_time(local, config.alerts.digest_hour, recipient.timezone)
    if at.timestamp() <= clock():
        at = digest_time(local + dt.timedelta(days=1), config.alerts.digest_hour, recipient.timezone)
    before = len(stack.sent_emails())
    runtime.digest.run(at + dt.timedelta(minutes=1))
    digests = [m for m in stack.sent_emails()[before:] if str(m["Subject"]).startswith("Daily digest")]
    if not digests:
        return ""
    text = digests[-1].get_body(("plain",)).get_content()
    start = text.find("MAY NOT HAVE ARRIVED")
    return text[start:text.find("OPPORTUNITIES TO ANSWER")] if start >= 0 else ""


def measure(name: str, stack: LocalStack, config: ListenConfig, table: str, clock: Clock,
            expected: dict[str, str], *, note: str = "", sms_expected: int | None = None) -> Cell:
    """Count the cell against the ground truth ``expected`` (mention key -> its URL)."""
    items = scan(stack, table)
    stored = {i["pk"]["S"][2:] for i in items if i["sk"]["S"] == "M" and i["pk"]["S"].startswith("M#")}
    sent_records: Counter[str] = Counter()
    for item in items:
        sk = item["sk"]["S"]
        if sk.startswith("D#") and sk.endswith("#email") and item["status"]["S"] == "sent":
            import json

            sent_records.update(json.loads(item["mentions"]["S"]))
    in_emails: Counter[str] = Counter()
    for message in stack.sent_emails():
        if is_alert(message):
            in_emails.update(set(keys_in(message)))
    cell = Cell(name, expected=len(expected), stored=len(stored & set(expected)), note=note)
    said = owner_digest(stack, config, table, clock)
    health = Store(stack.client("dynamodb"), table).all_health()
    skips = " ".join(h.last_skip or "" for h in health.values())
    for key, url in expected.items():
        copies = max(in_emails[key], sent_records[key])
        if copies == 1:
            cell.once += 1
        elif copies > 1:
            cell.more += 1
        else:
            cell.lost += 1
            if (url and url in said) or key in skips:
                cell.lost_visible += 1
    if sms_expected is not None and len(stack.sent_sms()) > sms_expected:
        cell.more += len(stack.sent_sms()) - sms_expected
        cell.problems.append(f"{len(stack.sent_sms())} SMS for {sms_expected}")
    return cell


def record(cell: Cell) -> Cell:
    RESULTS.append(cell)
    return cell
