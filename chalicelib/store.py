"""The DynamoDB repository: the only module that knows the table's keys.

Items (pk / sk):
- mention           ``M#<network>#<id>`` / ``M``; ``job`` names the alert job of the cycle that stored it
- action audit      ``M#<network>#<id>`` / ``A#<at>#<nonce>``
- task states       ``NET#<network>`` / ``TASKS`` (every query's cursor and last run, as JSON)
- network health    ``HEALTH`` / ``<network>``
- connector state   ``STATE#<network>`` / ``<name>``
- alert job         ``JOB#<id>`` / ``JOB``; while open: index keys ``OPENJOB`` / ``<created_at>``
- delivery          ``JOB#<id>`` / ``D#<recipient>#<channel>``; while claimed or a retry waits: index keys
                    ``RETRY`` / ``<due>#…``; once failed or unconfirmed: ``UNDELIVERED`` / ``<at>#…``
- action nonce      ``NONCE#<nonce>`` / ``N``; while its action runs: ``claim`` and ``held_until``
- digest counters   ``DIGEST#<day>`` / ``D``; the day's opportunities and questions ``O#<key>``, ``Q#<key>``
                    (and STORIES#, CAPS#, EXCLUSIONS, SHORT#: see below)

Writes that decide "exactly once" are conditional: a mention is stored only if absent
(transactions of up to 100 conditional puts), so exactly one cycle's alert job owns it; the
job is recorded before the mentions, and each delivery before it is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.model import MatchedMention, matched_from_dict, matched_to_dict
from chalicelib.table import INDEX_NAME, TTL_ATTRIBUTE

MENTION_TTL_DAYS = 90
JOB_TTL_DAYS = 30
TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem
DIGEST_TTL_DAYS = 40
OPEN_JOB = "OPENJOB"
RETRY_INDEX = "RETRY"  # index partition of deliveries waiting to be tried again
READ_OPERATIONS = frozenset({"get_item", "batch_get_item", "query", "scan"})
PARALLEL_READS = 4  # read batches of a cycle sent at once (measured: writes gain nothing, DynamoDB Local loses)
MAX_STORED_TEXT = 20_000  # characters of a mention's text kept (at most ~120 KB as JSON: items hold 400 KB)
MAX_STORED_TITLE = 500  # characters of a mention's title kept
UNDELIVERED_INDEX = "UNDELIVERED"  # index partition of deliveries that failed or may not have arrived
UNDELIVERED_STATUSES = frozenset({"failed", "unconfirmed"})
CLAIM_LEASE_SECONDS = 900.0  # a claimed send not recorded by then is unconfirmed (Lambda runs 15 minutes at most)


def client_config() -> Any:
    """botocore settings for the DynamoDB client: adaptive retries for throttling, short
    timeouts, and no client-side parameter validation (every request is built here; it
    costs a quarter of the client's CPU on batches)."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=3, read_timeout=10,
                  parameter_validation=False, max_pool_connections=PARALLEL_READS * 2)


def mention_pk(key: str) -> str:
    return f"M#{key}"


@dataclass(frozen=True, slots=True)
class StoredMention:
    item: MatchedMention
    state: str  # new | handled
    stored_at: str
    job: str | None = None

    @property
    def key(self) -> str:
        return self.item.mention.key


@dataclass(slots=True)
class DigestDay:
    """One UTC day of new mentions, counted for the digest."""

    day: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # dimension -> value -> mentions
    opportunities: list[str] = field(default_factory=list)  # mention keys, in the order they were stored
    questions: list[str] = field(default_factory=list)
    hourly: dict[str, dict[str, int]] = field(default_factory=dict)  # UTC hour "HH" -> rule group -> mentions


@dataclass(slots=True)
class TaskState:
    """Where one (network, query) task is: its cursor, when it last ran, and whether its
    last fetch stopped early (then it runs again at the next cycle)."""

    cursor: dict[str, Any] | None = None
    last_run: float = 0.0  # Unix seconds
    unfinished: bool = False


@dataclass(slots=True)
class Health:
    network: str
    consecutive_failures: int = 0
    last_success_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    retry_not_before: float = 0.0
    mentions_fetched: int = 0
    last_data_at: str | None = None  # last poll that returned at least one item (written at most hourly)
    watching_since: str | None = None  # the silence clock's start: first successful poll, or the one after an outage
    silence_told: str | None = None  # "silent" | "data again": what the owner was last told about silence
    silence_told_at: str | None = None
    items_skipped: int = 0  # items a network sent that could not be read, in all (each skipped alone)
    last_skip: str | None = None  # "N items skipped: reason", the latest cycle that skipped any
    last_skip_at: str | None = None


@dataclass(slots=True)
class Job:
    job_id: str
    created_at: str
    lease_until: float
    candidate_keys: list[str]
    status: str


@dataclass(slots=True)
class Delivery:
    job_id: str
    recipient: str
    channel: str
    status: str  # sending | sent | failed | skipped | unconfirmed | retry (a transient failure, tried again later)
    mention_keys: list[str] = field(default_factory=list)
    message_id: str | None = None
    detail: str | None = None
    sent_at: str | None = None
    attempts: int = 1  # sends tried so far (transient failures are retried later)
    retry_at: float | None = None  # Unix seconds of the next try while status is "retry"


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat(timespec="milliseconds")


def _refused_item(err: ClientError) -> bool:
    """DynamoDB refused a request for what an item is (too large, a bad value), not for load
    or a condition: retrying it cannot help."""
    code = err.response["Error"]["Code"]
    reasons = err.response.get("CancellationReasons") or []
    return code == "ValidationException" or (
        code == "TransactionCanceledException" and any(r.get("Code") == "ValidationError" for r in reasons))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def capped(item: MatchedMention) -> MatchedMention:
    """The mention as stored: text cut to ``MAX_STORED_TEXT`` characters and the title to
    ``MAX_STORED_TITLE`` (a 450 KB post would not fit DynamoDB's 400 KB item), match spans
    past the cut dropped."""
    m = item.mention
    if len(m.text) <= MAX_STORED_TEXT and len(m.title) <= MAX_STORED_TITLE:
        return item
    title, text = m.title[:MAX_STORED_TITLE], m.text[:MAX_STORED_TEXT]
    old_body, body = (len(m.title) + 2, len(title) + 2) if m.title else (0, 0)

    def kept(span: tuple[int, int]) -> tuple[int, int] | None:
        start, end = span
        if start < old_body:  # in the title
            return span if end <= len(title) else None
        start, end = start - old_body + body, end - old_body + body  # the title may be shorter now
        return (start, end) if end <= body + len(text) else None

    matches = tuple(replace(r, spans=tuple(k for sp in r.spans if (k := kept(sp)) is not None)) for r in item.matches)
    return replace(item, mention=replace(m, title=title, text=text), matches=matches)


class Store:
    """All reads and writes of the table. ``client`` is a boto3 DynamoDB client."""

    def __init__(self, client: Any, table_name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table = table_name
        self.clock = clock
        self.requests = 0  # DynamoDB requests made, for the benchmarks and the demo summary
        self.read_units = 0.0  # capacity DynamoDB says it consumed (what on-demand billing charges)
        self.write_units = 0.0
        self.units_by_caller: dict[str, float] | None = None  # {}: also count capacity per Store method
        self._count_lock = threading.Lock()

    def _call(self, operation: str, **kwargs: Any) -> Any:
        with self._count_lock:
            self.requests += 1
        response = getattr(self.client, operation)(**kwargs, ReturnConsumedCapacity="TOTAL")
        consumed = response.get("ConsumedCapacity") or []
        units = sum(c.get("CapacityUnits", 0.0) for c in (consumed if isinstance(consumed, list) else [consumed]))
        with self._count_lock:
            if operation in READ_OPERATIONS:
                self.read_units += units
            else:
                self.write_units += units
            if self.units_by_caller is not None:  # only `make cost` asks: it walks the stack
                caller = self._caller()
                self.units_by_caller[caller] = self.units_by_caller.get(caller, 0.0) + units
        return response

    @staticmethod
    def _caller() -> str:
        """The Store method that made the request (for the cost breakdown)."""
        import sys

        frame = sys._getframe(2)
        while frame.f_back is not None and frame.f_code.co_name.startswith("_"):
            frame = frame.f_back
        return frame.f_code.co_name

    @staticmethod
    def _in_parallel(work: Callable[[Sequence[Any]], Any], chunks: list[Sequence[Any]]) -> list[Any]:
        """Run ``work`` on each chunk, several at once; results in chunk order."""
        if len(chunks) <= 1:
            return [work(chunk) for chunk in chunks]
        with ThreadPoolExecutor(max_workers=PARALLEL_READS, thread_name_prefix="ddb") as pool:
            return list(pool.map(work, chunks))

    # --- mentions -------------------------------------------------------------------

    def unseen(self, items: Sequence[MatchedMention]) -> list[MatchedMention]:
        """The mentions not stored before (one BatchGetItem per 100 keys), each once."""
        unique = list({m.mention.key: m for m in items}.values())
        existing = self._existing_mention_keys([m.mention.key for m in unique])
        return [m for m in unique if m.mention.key not in existing]

    def store_new_mentions(
        self, candidates: Sequence[MatchedMention], job_id: str, lease_seconds: float,
        skipped: list[tuple[MatchedMention, str]] | None = None,
    ) -> list[MatchedMention]:
        """Store the candidates (from ``unseen``) owned by alert job ``job_id``; return those
        this call stored (as stored: ``capped``). A mention DynamoDB refuses as such (a
        ValidationException: too large, a bad value) is left out alone and added to
        ``skipped`` with the reason; the others are stored all the same.

        The job is recorded (with every candidate's key) before any mention, so a crash
        after storing leaves a job that a later cycle resumes. Each mention is a
        conditional put (absent only) inside transactions of 100, so of two overlapping
        cycles only one stores, and so only one alerts, a given mention.
        """
        if not candidates:
            return []
        self.open_job(job_id, [m.mention.key for m in candidates], lease_seconds)
        now = self.clock()
        refused = skipped if skipped is not None else []
        return [m for chunk in _chunks([capped(m) for m in candidates], TRANSACTION_ITEMS)
                for m in self._put_absent(list(chunk), job_id, now, refused)]

    def _existing_mention_keys(self, keys: Sequence[str]) -> set[str]:
        return set().union(*self._in_parallel(self._existing_in_chunk, list(_chunks(keys, BATCH_GET_KEYS))))

    def _existing_in_chunk(self, chunk: Sequence[str]) -> set[str]:
        found: set[str] = set()
        if chunk:
            request = {
                self.table: {
                    "Keys": [{"pk": {"S": mention_pk(k)}, "sk": {"S": "M"}} for k in chunk],
                    "ProjectionExpression": "pk",
                }
            }
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                found.update(item["pk"]["S"][2:] for item in response["Responses"].get(self.table, []))
                request = response.get("UnprocessedKeys") or {}
        return found

    def _put_absent(self, items: list[MatchedMention], job_id: str, now: float,
                    refused: list[tuple[MatchedMention, str]]) -> list[MatchedMention]:
        stored_at = _iso(now)
        expires = str(int(now) + MENTION_TTL_DAYS * 86400)

        def put(m: MatchedMention) -> dict[str, Any]:
            return {
                "TableName": self.table,
                "Item": {
                    "pk": {"S": mention_pk(m.mention.key)},
                    "sk": {"S": "M"},
                    "data": {"S": json.dumps(matched_to_dict(m), separators=(",", ":"))},
                    "state": {"S": "new"},
                    "stored_at": {"S": stored_at},
                    "job": {"S": job_id},
                    TTL_ATTRIBUTE: {"N": expires},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }

        while items:
            try:
                failed = self._transact([{"Put": put(m)} for m in items])
            except ClientError as err:
                if not _refused_item(err):
                    raise
                return self._put_each(items, put, refused)  # one bad item must not keep the others out
            if failed is None:
                return items
            items = [m for i, m in enumerate(items) if i not in failed]
        return []

    def _put_each(self, items: list[MatchedMention], put: Callable[[MatchedMention], dict[str, Any]],
                  refused: list[tuple[MatchedMention, str]]) -> list[MatchedMention]:
        """Store the mentions one conditional put each; those DynamoDB refuses go to ``refused``."""
        stored = []
        for m in items:
            try:
                self._call("put_item", **put(m))
            except ClientError as err:
                code = err.response["Error"]["Code"]
                if code == "ConditionalCheckFailedException":
                    continue  # stored by another cycle meanwhile
                if code != "ValidationException":
                    raise
                message = err.response["Error"].get("Message", code)
                refused.append((m, f"{m.mention.key} could not be stored ({message})"))
                continue
            stored.append(m)
        return stored

    def _transact(self, transact: list[dict[str, Any]], attempts: int = 5) -> set[int] | None:
        """Run a transaction. None if it committed; else the indexes whose condition failed
        (the caller drops them and runs the rest again). Conflicts are retried."""
        for attempt in range(attempts):
            try:
                self._call("transact_write_items", TransactItems=transact)
                return None
            except ClientError as err:
                if err.response["Error"]["Code"] != "TransactionCanceledException" or _refused_item(err):
                    raise
                reasons = err.response.get("CancellationReasons") or []
                failed = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
                if failed:
                    return failed
                time.sleep(0.05 * 2**attempt)  # a conflict with a concurrent transaction
        raise RuntimeError("DynamoDB transaction kept conflicting; giving up for this cycle")

    def get_mention(self, key: str) -> StoredMention | None:
        response = self._call(
            "get_item", TableName=self.table, Key={"pk": {"S": mention_pk(key)}, "sk": {"S": "M"}}, ConsistentRead=True
        )
        item = response.get("Item")
        return self._stored(item) if item else None

    def get_mentions(self, keys: Sequence[str]) -> dict[str, StoredMention]:
        result: dict[str, StoredMention] = {}
        for chunk in _chunks(list(dict.fromkeys(keys)), BATCH_GET_KEYS):
            request = {
                self.table: {
                    "Keys": [{"pk": {"S": mention_pk(k)}, "sk": {"S": "M"}} for k in chunk],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                for item in response["Responses"].get(self.table, []):
                    stored = self._stored(item)
                    result[stored.key] = stored
                request = response.get("UnprocessedKeys") or {}
        return result

    @staticmethod
    def _stored(item: dict[str, Any]) -> StoredMention:
        return StoredMention(
            item=matched_from_dict(json.loads(item["data"]["S"])),
            state=item["state"]["S"],
            stored_at=item["stored_at"]["S"],
            job=item["job"]["S"] if "job" in item else None,
        )

    def set_mention_state(self, key: str, state: str) -> bool:
        """Set a stored mention's state (e.g. handled); False if no such mention."""
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": mention_pk(key)}, "sk": {"S": "M"}},
                UpdateExpression="SET #state = :state",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":state": {"S": state}},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def audit(self, key: str, action: str, recipient: str, result: str, nonce: str) -> None:
        """Record who did what to a mention, when, and how it went."""
        now = self.clock()
        self._call(
            "put_item",
            TableName=self.table,
            Item={
                "pk": {"S": mention_pk(key)},
                "sk": {"S": f"A#{_iso(now)}#{nonce}"},
                "action": {"S": action},
                "recipient": {"S": recipient},
                "result": {"S": result},
                TTL_ATTRIBUTE: {"N": str(int(now) + MENTION_TTL_DAYS * 86400)},
            },
        )

    def audit_log(self, key: str) -> list[dict[str, str]]:
        response = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
            ExpressionAttributeValues={":pk": {"S": mention_pk(key)}, ":a": {"S": "A#"}},
        )
        return [
            {"at": i["sk"]["S"].split("#")[1], "action": i["action"]["S"], "recipient": i["recipient"]["S"],
             "result": i["result"]["S"]}
            for i in response["Items"]
        ]

    def use_nonce(self, nonce: str, expires_at: int) -> bool:
        """Spend a single-use action nonce; False if it was spent before."""
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item={"pk": {"S": f"NONCE#{nonce}"}, "sk": {"S": "N"}, TTL_ATTRIBUTE: {"N": str(expires_at)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim_nonce(self, nonce: str, expires_at: int, lease_seconds: float) -> str | None:
        """Hold a single-use action nonce while its action runs: the claim's id, or None if the
        nonce was spent or another request holds it (a claim left by a crash lapses after
        ``lease_seconds``). Then ``spend_nonce`` once the action succeeded, or ``release_nonce``."""
        claim = secrets.token_hex(8)
        now = self.clock()
        try:
            self._call(
                "put_item", TableName=self.table,
                Item={"pk": {"S": f"NONCE#{nonce}"}, "sk": {"S": "N"}, "claim": {"S": claim},
                      "held_until": {"N": repr(now + lease_seconds)}, TTL_ATTRIBUTE: {"N": str(expires_at)}},
                ConditionExpression="attribute_not_exists(pk) OR held_until < :now",
                ExpressionAttributeValues={":now": {"N": repr(now)}},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return claim

    def spend_nonce(self, nonce: str, claim: str, bound_to: str = "") -> bool:
        """Spend a claimed nonce for good, remembering what it was spent on (``bound_to``, e.g.
        the key of the reply a Reply link posted); False if the claim was lost meanwhile."""
        values = {":claim": {"S": claim}, ":bound": {"S": bound_to}}
        try:
            self._call(
                "update_item", TableName=self.table, Key={"pk": {"S": f"NONCE#{nonce}"}, "sk": {"S": "N"}},
                UpdateExpression="SET bound_to = :bound REMOVE held_until, claim",
                ConditionExpression="claim = :claim", ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_nonce(self, nonce: str, claim: str) -> None:
        """Give a claimed nonce back (its action failed): the link works again."""
        try:
            self._call("delete_item", TableName=self.table, Key={"pk": {"S": f"NONCE#{nonce}"}, "sk": {"S": "N"}},
                       ConditionExpression="claim = :claim", ExpressionAttributeValues={":claim": {"S": claim}})
        except ClientError as err:
            if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def spent_nonce(self, nonce: str) -> str | None:
        """What a spent nonce was spent on ("" if nothing was named); None if it is not spent
        (never used, or only held by a running request)."""
        response = self._call("get_item", TableName=self.table, Key={"pk": {"S": f"NONCE#{nonce}"}, "sk": {"S": "N"}},
                              ConsistentRead=True)
        item = response.get("Item")
        if item is None or "claim" in item:
            return None
        return str(item.get("bound_to", {}).get("S", ""))

    # --- cursors, health, connector state ------------------------------------------

    def get_task_states(self, networks: Iterable[str]) -> dict[str, dict[str, TaskState]]:
        """Per network, the state of each of its (query) tasks: cursor, last run, unfinished.

        One item per network (one BatchGetItem for all), so a cycle reads a few small items
        instead of one per task.
        """
        names = list(dict.fromkeys(networks))
        states: dict[str, dict[str, TaskState]] = {n: {} for n in names}
        for chunk in _chunks(names, BATCH_GET_KEYS):
            request = {self.table: {"Keys": [{"pk": {"S": f"NET#{n}"}, "sk": {"S": "TASKS"}} for n in chunk],
                                    "ConsistentRead": True}}
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                for item in response["Responses"].get(self.table, []):
                    network = item["pk"]["S"].removeprefix("NET#")
                    states[network] = {
                        query: TaskState(value.get("c"), float(value.get("r", 0.0)), bool(value.get("u")))
                        for query, value in json.loads(item["tasks"]["S"]).items()
                    }
                request = response.get("UnprocessedKeys") or {}
        return states

    def save_task_states(self, network: str, states: dict[str, TaskState]) -> None:
        """Write a network's task states (the pipeline calls it only when a cursor moved)."""
        body = {q: {"c": t.cursor, "r": round(t.last_run, 1), **({"u": 1} if t.unfinished else {})}
                for q, t in sorted(states.items())}
        self._call("put_item", TableName=self.table,
                   Item={"pk": {"S": f"NET#{network}"}, "sk": {"S": "TASKS"},
                         "tasks": {"S": json.dumps(body, separators=(",", ":"))}})

    def all_health(self) -> dict[str, Health]:
        response = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "HEALTH"}},
            ConsistentRead=True,
        )
        result = {}
        for item in response["Items"]:
            network = item["sk"]["S"]
            result[network] = Health(
                network=network,
                consecutive_failures=int(item["consecutive_failures"]["N"]),
                last_success_at=item.get("last_success_at", {}).get("S"),
                last_error=item.get("last_error", {}).get("S"),
                last_error_at=item.get("last_error_at", {}).get("S"),
                retry_not_before=float(item.get("retry_not_before", {"N": "0"})["N"]),
                mentions_fetched=int(item.get("mentions_fetched", {"N": "0"})["N"]),
                last_data_at=item.get("last_data_at", {}).get("S"),
                watching_since=item.get("watching_since", {}).get("S"),
                silence_told=item.get("silence_told", {}).get("S"),
                silence_told_at=item.get("silence_told_at", {}).get("S"),
                items_skipped=int(item.get("items_skipped", {"N": "0"})["N"]),
                last_skip=item.get("last_skip", {}).get("S"),
                last_skip_at=item.get("last_skip_at", {}).get("S"),
            )
        return result

    def record_skipped(self, network: str, count: int, reason: str) -> None:
        """Count items of ``network`` that could not be read this cycle; keep the reason in
        words ("3 items skipped: ...") for the health record. One write per cycle that skipped."""
        self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": "HEALTH"}, "sk": {"S": network}},
            UpdateExpression="SET last_skip = :skip, last_skip_at = :now ADD items_skipped :count",
            ExpressionAttributeValues={
                ":skip": {"S": f"{count} item{'s' if count != 1 else ''} skipped: {reason}"},
                ":now": {"S": _iso(self.clock())}, ":count": {"N": str(count)},
            },
        )

    def record_success(self, network: str, fetched: int, *, data: bool = False,
                       restart_watch: bool = False) -> str | None:
        """Reset the failure count; return the health state the owner was last told ("down"...).

        ``data``: this poll returned items (``last_data_at`` is set). The silence clock
        (``watching_since``) starts at the first success, and again when ``restart_watch``
        (the first success after an outage)."""
        watch = ":now" if restart_watch else "if_not_exists(watching_since, :now)"
        response = self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": "HEALTH"}, "sk": {"S": network}},
            UpdateExpression="SET consecutive_failures = :zero, last_success_at = :now, retry_not_before = :zero"
            f", watching_since = {watch}{', last_data_at = :now' if data else ''} "
            "ADD mentions_fetched :fetched",
            ExpressionAttributeValues={
                ":zero": {"N": "0"}, ":now": {"S": _iso(self.clock())}, ":fetched": {"N": str(fetched)},
            },
            ReturnValues="ALL_OLD",
        )
        told = response.get("Attributes", {}).get("told")
        return str(told["S"]) if told else None

    def record_failure(self, network: str, error: str, retry_not_before: float = 0.0) -> int:
        """Count a failure; return the failures in a row now."""
        response = self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": "HEALTH"}, "sk": {"S": network}},
            UpdateExpression="SET last_error = :error, last_error_at = :now, retry_not_before = :rnb "
            "ADD consecutive_failures :one",
            ExpressionAttributeValues={
                ":error": {"S": error}, ":now": {"S": _iso(self.clock())}, ":rnb": {"N": repr(retry_not_before)},
                ":one": {"N": "1"},
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["consecutive_failures"]["N"])

    def tell_health(self, network: str, state: str) -> bool:
        """Record that the owner is told the network is ``state`` ("down" or "up"); False if
        they were told that already (so each change is told once, never a storm)."""
        return self._tell_once(network, "told", state)

    def tell_silence(self, network: str, state: str) -> bool:
        """Record that the owner is told the network is ``state`` ("silent" or "data again");
        False if they were told that already (a conditional write: one notice per change)."""
        return self._tell_once(network, "silence_told", state)

    def _tell_once(self, network: str, field: str, state: str) -> bool:
        """Set the health record's ``field`` (and ``<field>_at``) to ``state`` unless it is already."""
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": "HEALTH"}, "sk": {"S": network}},
                UpdateExpression=f"SET {field} = :state, {field}_at = :now",
                ConditionExpression=f"attribute_not_exists({field}) OR {field} <> :state",
                ExpressionAttributeValues={":state": {"S": state}, ":now": {"S": _iso(self.clock())}},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_state(self, network: str, name: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item", TableName=self.table, Key={"pk": {"S": f"STATE#{network}"}, "sk": {"S": name}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return json.loads(item["value"]["S"]) if item else None

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item={"pk": {"S": f"STATE#{network}"}, "sk": {"S": name}, "value": {"S": json.dumps(value)}},
        )

    # --- alert jobs and deliveries --------------------------------------------------

    def open_job(self, job_id: str, candidate_keys: Sequence[str], lease_seconds: float) -> Job:
        """Record an alert job before its mentions are stored, so a crash can be resumed."""
        now = self.clock()
        job = Job(job_id, _iso(now), now + lease_seconds, list(candidate_keys), "open")
        self._call(
            "put_item",
            TableName=self.table,
            Item={
                "pk": {"S": f"JOB#{job_id}"},
                "sk": {"S": "JOB"},
                "created_at": {"S": job.created_at},
                "lease_until": {"N": repr(job.lease_until)},
                "candidates": {"S": json.dumps(job.candidate_keys)},
                "status": {"S": "open"},
                "gsi1pk": {"S": OPEN_JOB},
                "gsi1sk": {"S": f"{job.created_at}#{job_id}"},
                TTL_ATTRIBUTE: {"N": str(int(now) + JOB_TTL_DAYS * 86400)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return job

    def stale_jobs(self) -> list[Job]:
        """Open jobs whose lease ran out: their cycle died before finishing them."""
        now = self.clock()
        jobs = []
        for item in self._query_index(OPEN_JOB, 100):
            lease = float(item["lease_until"]["N"])
            if lease <= now:
                jobs.append(
                    Job(item["pk"]["S"][4:], item["created_at"]["S"], lease,
                        json.loads(item["candidates"]["S"]), item["status"]["S"])
                )
        return jobs

    def take_over_job(self, job: Job, lease_seconds: float) -> bool:
        """Renew a stale job's lease for this cycle; False if another cycle took it first."""
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": f"JOB#{job.job_id}"}, "sk": {"S": "JOB"}},
                UpdateExpression="SET lease_until = :new",
                ConditionExpression="lease_until = :old AND #status = :open",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":new": {"N": repr(self.clock() + lease_seconds)}, ":old": {"N": repr(job.lease_until)},
                    ":open": {"S": "open"},
                },
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def close_job(self, job_id: str) -> None:
        self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "JOB"}},
            UpdateExpression="SET #status = :done REMOVE gsi1pk, gsi1sk",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":done": {"S": "done"}},
        )

    def claim_delivery(self, job_id: str, recipient: str, channel: str, mention_keys: Sequence[str],
                       lease_seconds: float = CLAIM_LEASE_SECONDS) -> bool:
        """Record a delivery as being sent; False if it was recorded before (never send twice).
        Until it is finished it is in the ``RETRY`` index, due when the lease ends, so a run
        that stopped mid-send is found (``due_retries``) and its delivery marked unconfirmed."""
        now = self.clock()
        try:
            self._call(
                "put_item",
                TableName=self.table,
                Item={
                    "pk": {"S": f"JOB#{job_id}"},
                    "sk": {"S": f"D#{recipient}#{channel}"},
                    "status": {"S": "sending"},
                    "mentions": {"S": json.dumps(list(mention_keys))},
                    "claimed_at": {"S": _iso(now)},
                    "attempts": {"N": "1"},
                    "gsi1pk": {"S": RETRY_INDEX},
                    "gsi1sk": {"S": self._retry_index_key(now + lease_seconds, job_id, recipient, channel)},
                    TTL_ATTRIBUTE: {"N": str(int(self.clock()) + JOB_TTL_DAYS * 86400)},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish_delivery(
        self, job_id: str, recipient: str, channel: str, status: str, *,
        message_id: str | None = None, detail: str | None = None,
    ) -> None:
        """Mark a recorded delivery sent, failed, skipped or unconfirmed (with the provider's
        message id); a failed or unconfirmed one is listed under ``UNDELIVERED`` for the digest."""
        expression, values = self._finish_expression(job_id, recipient, channel, status, message_id, detail)
        if status not in UNDELIVERED_STATUSES:
            expression += " REMOVE gsi1pk, gsi1sk"
        self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": f"D#{recipient}#{channel}"}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def _finish_expression(self, job_id: str, recipient: str, channel: str, status: str, message_id: str | None,
                           detail: str | None) -> tuple[str, dict[str, Any]]:
        """The SET clause (and its values) recording how a delivery ended."""
        now = _iso(self.clock())
        values: dict[str, Any] = {":status": {"S": status}, ":at": {"S": now}}
        expression = "SET #status = :status, finished_at = :at"
        if message_id:
            expression += ", message_id = :mid"
            values[":mid"] = {"S": message_id}
        if detail:
            expression += ", detail = :detail"
            values[":detail"] = {"S": detail}
        if status in UNDELIVERED_STATUSES:
            expression += ", gsi1pk = :lost, gsi1sk = :lost_at"
            values[":lost"] = {"S": UNDELIVERED_INDEX}
            values[":lost_at"] = {"S": f"{now}#{job_id}#{recipient}#{channel}"}
        return expression, values

    def undelivered(self, since: float, limit: int = 100) -> list[Delivery]:
        """Deliveries that failed or may not have arrived (``unconfirmed``) since ``since``
        (Unix seconds), oldest first: one Query of the sparse ``UNDELIVERED`` index."""
        response = self._call(
            "query", TableName=self.table, IndexName=INDEX_NAME,
            KeyConditionExpression="gsi1pk = :p AND gsi1sk >= :since",
            ExpressionAttributeValues={":p": {"S": UNDELIVERED_INDEX}, ":since": {"S": _iso(since)}}, Limit=limit,
        )
        return [self._delivery(item) for item in response["Items"]]

    @staticmethod
    def _delivery(item: dict[str, Any]) -> Delivery:
        _, recipient, channel = item["sk"]["S"].split("#", 2)
        return Delivery(
            job_id=item["pk"]["S"].removeprefix("JOB#"), recipient=recipient, channel=channel,
            status=item["status"]["S"], mention_keys=json.loads(item["mentions"]["S"]),
            message_id=item.get("message_id", {}).get("S"), detail=item.get("detail", {}).get("S"),
            sent_at=item.get("finished_at", {}).get("S"), attempts=int(item.get("attempts", {"N": "1"})["N"]),
            retry_at=float(item["retry_at"]["N"]) if "retry_at" in item else None,
        )

    def deliveries(self, job_id: str) -> list[Delivery]:
        response = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
            ExpressionAttributeValues={":pk": {"S": f"JOB#{job_id}"}, ":d": {"S": "D#"}},
            ConsistentRead=True,
        )
        result = []
        for item in response["Items"]:
            _, recipient, channel = item["sk"]["S"].split("#", 2)
            result.append(
                Delivery(
                    job_id=job_id, recipient=recipient, channel=channel, status=item["status"]["S"],
                    mention_keys=json.loads(item["mentions"]["S"]),
                    message_id=item.get("message_id", {}).get("S"), detail=item.get("detail", {}).get("S"),
                    sent_at=item.get("finished_at", {}).get("S"),
                    attempts=int(item.get("attempts", {"N": "1"})["N"]),
                    retry_at=float(item["retry_at"]["N"]) if "retry_at" in item else None,
                )
            )
        return result

    def _query_index(self, partition: str, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": partition}},
        }
        while len(items) < limit:
            response = self._call("query", **kwargs, Limit=limit - len(items))
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items

    # --- deliveries retried later (transient SES/SNS failures) --------------------
    # While a retry waits (or is being sent) its delivery item carries the sparse index keys
    # RETRY / <due, Unix seconds>#<job>#<recipient>#<channel>: one Query finds what is due.

    @staticmethod
    def _retry_index_key(due: float, job_id: str, recipient: str, channel: str) -> str:
        return f"{int(due):012d}#{job_id}#{recipient}#{channel}"

    def retry_delivery_later(self, job_id: str, recipient: str, channel: str, *, attempts: int, retry_at: float,
                             detail: str) -> bool:
        """A send failed transiently: mark the delivery (being sent, after ``attempts`` sends)
        to be tried again at ``retry_at``; False if it was not ours to mark (not "sending")."""
        try:
            self._call(
                "update_item", TableName=self.table,
                Key={"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": f"D#{recipient}#{channel}"}},
                UpdateExpression="SET #status = :retry, attempts = :n, retry_at = :at, detail = :detail, "
                "finished_at = :now, gsi1pk = :index, gsi1sk = :due",
                ConditionExpression="#status = :sending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":retry": {"S": "retry"}, ":n": {"N": str(attempts)}, ":at": {"N": repr(retry_at)},
                    ":detail": {"S": detail}, ":now": {"S": _iso(self.clock())}, ":index": {"S": RETRY_INDEX},
                    ":due": {"S": self._retry_index_key(retry_at, job_id, recipient, channel)},
                    ":sending": {"S": "sending"},
                },
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def due_retries(self, limit: int = 100) -> list[Delivery]:
        """Deliveries whose retry is due, and retries whose sending cycle stopped (still
        "sending" after its lease), oldest first. The index is eventually consistent:
        ``claim_retry`` decides who sends."""
        response = self._call(
            "query", TableName=self.table, IndexName=INDEX_NAME,
            KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :now",
            ExpressionAttributeValues={":p": {"S": RETRY_INDEX}, ":now": {"S": f"{int(self.clock()):012d}~"}},
            Limit=limit,
        )
        return [self._delivery(item) for item in response["Items"]]

    def claim_retry(self, delivery: Delivery, lease_seconds: float) -> bool:
        """Take a due retry for this cycle (status "retry" with the attempts seen -> "sending",
        one attempt more); False if another cycle took it first. Until finished it stays in
        the index, due at the lease's end, so a cycle that stops mid-send is noticed."""
        now = self.clock()
        try:
            self._call(
                "update_item", TableName=self.table,
                Key={"pk": {"S": f"JOB#{delivery.job_id}"}, "sk": {"S": f"D#{delivery.recipient}#{delivery.channel}"}},
                UpdateExpression="SET #status = :sending, attempts = :next, claimed_at = :now, gsi1sk = :lease",
                ConditionExpression="#status = :retry AND attempts = :n",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":sending": {"S": "sending"}, ":retry": {"S": "retry"}, ":n": {"N": str(delivery.attempts)},
                    ":next": {"N": str(delivery.attempts + 1)}, ":now": {"S": _iso(now)},
                    ":lease": {"S": self._retry_index_key(now + lease_seconds, delivery.job_id, delivery.recipient,
                                                          delivery.channel)},
                },
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish_retry(self, delivery: Delivery, attempts: int, status: str, *, message_id: str | None = None,
                     detail: str | None = None) -> bool:
        """Record how a retried delivery (being sent, after ``attempts`` sends) ended — sent,
        failed, skipped or unconfirmed — and drop it from the index; False if it was not
        being sent with that attempt count (another cycle finished it)."""
        expression, values = self._finish_expression(delivery.job_id, delivery.recipient, delivery.channel, status,
                                                     message_id, detail)
        values.update({":sending": {"S": "sending"}, ":n": {"N": str(attempts)}})
        remove = "retry_at" if status in UNDELIVERED_STATUSES else "gsi1pk, gsi1sk, retry_at"
        try:
            self._call(
                "update_item", TableName=self.table,
                Key={"pk": {"S": f"JOB#{delivery.job_id}"}, "sk": {"S": f"D#{delivery.recipient}#{delivery.channel}"}},
                UpdateExpression=f"{expression} REMOVE {remove}",
                ConditionExpression="#status = :sending AND attempts = :n",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- short links (for SMS) ----------------------------------------------------

    def put_short_link(self, code: str, token: str, expires_at: int) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item={"pk": {"S": f"SHORT#{code}"}, "sk": {"S": "S"}, "token": {"S": token},
                  TTL_ATTRIBUTE: {"N": str(expires_at)}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_short_link(self, code: str) -> str | None:
        """The token behind a short code; None if unknown or expired (TTL deletes lazily)."""
        response = self._call("get_item", TableName=self.table, Key={"pk": {"S": f"SHORT#{code}"}, "sk": {"S": "S"}})
        item = response.get("Item")
        if not item or int(item[TTL_ATTRIBUTE]["N"]) <= self.clock():
            return None
        return str(item["token"]["S"])

    # --- daily caps -------------------------------------------------------------

    def daily_caps(self, day: str) -> tuple[dict[str, int], dict[str, int]]:
        """(instant alerts sent today per rule, extra allowance granted today per rule)."""
        response = self._call("get_item", TableName=self.table, Key={"pk": {"S": f"CAPS#{day}"}, "sk": {"S": "CAPS"}},
                              ConsistentRead=True)
        item = response.get("Item", {})
        counts = {k[2:]: int(v["N"]) for k, v in item.items() if k.startswith("c#")}
        raised = {k[2:]: int(v["N"]) for k, v in item.items() if k.startswith("r#")}
        return counts, raised

    def add_to_daily_caps(self, day: str, *, counts: dict[str, int] | None = None,
                          raised: dict[str, int] | None = None) -> None:
        """Add alerts sent (``counts``) or allowance granted (``raised``) per rule for the day."""
        pairs = [(f"c#{rule}", n) for rule, n in (counts or {}).items() if n] + \
                [(f"r#{rule}", n) for rule, n in (raised or {}).items() if n]
        if not pairs:
            return
        names = {f"#a{i}": name for i, (name, _) in enumerate(pairs)}
        values: dict[str, Any] = {f":v{i}": {"N": str(n)} for i, (_, n) in enumerate(pairs)}
        values[":ttl"] = {"N": str(int(self.clock()) + 3 * 86400)}
        self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": f"CAPS#{day}"}, "sk": {"S": "CAPS"}},
            UpdateExpression="ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(pairs))) + " SET #ttl = :ttl",
            ExpressionAttributeNames={**names, "#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues=values,
        )

    # --- stories already alerted (cross-network and near-duplicate collapse) ------

    def known_stories(self, days: Sequence[str]) -> dict[str, str]:
        """Fingerprints of stories alerted on these days -> the key of each story's lead."""
        known: dict[str, str] = {}
        for day in days:
            response = self._call("get_item", TableName=self.table,
                                  Key={"pk": {"S": f"STORIES#{day}"}, "sk": {"S": "S"}}, ConsistentRead=True)
            if "Item" in response:
                known.update(json.loads(response["Item"]["fingerprints"]["S"]))
        return known

    def remember_stories(self, day: str, fingerprints: dict[str, str], attempts: int = 5) -> bool:
        """Add fingerprints to the day's record (optimistic locking on a version number).

        False when the record is full (~300 KB of fingerprints, several thousand stories):
        later stories that day are still alerted, just not collapsed across cycles.
        """
        key = {"pk": {"S": f"STORIES#{day}"}, "sk": {"S": "S"}}
        for _ in range(attempts):
            item = self._call("get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
            version = int(item["version"]["N"]) if item else 0
            merged = {**(json.loads(item["fingerprints"]["S"]) if item else {}), **fingerprints}
            body = json.dumps(merged, separators=(",", ":"))
            if len(body) > 300_000:
                return False
            condition = "version = :v" if item else "attribute_not_exists(pk)"
            values = {":v": {"N": str(version)}} if item else {}
            try:
                self._call(
                    "put_item", TableName=self.table,
                    Item={**key, "fingerprints": {"S": body}, "version": {"N": str(version + 1)},
                          TTL_ATTRIBUTE: {"N": str(int(self.clock()) + 3 * 86400)}},
                    ConditionExpression=condition, **({"ExpressionAttributeValues": values} if values else {}),
                )
                return True
            except ClientError as err:
                if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError("the day's story record kept changing under us; giving up for this cycle")

    # --- exclusions the owner accepted from relevance feedback --------------------

    def add_exclusion(self, rule: str, term: str) -> None:
        self._call(
            "update_item", TableName=self.table, Key={"pk": {"S": "EXCLUSIONS"}, "sk": {"S": rule}},
            UpdateExpression="ADD terms :t", ExpressionAttributeValues={":t": {"SS": [term]}},
        )

    def exclusions(self) -> dict[str, list[str]]:
        """Accepted exclusions per rule (sorted), read once per cycle."""
        response = self._call("query", TableName=self.table, KeyConditionExpression="pk = :pk",
                              ExpressionAttributeValues={":pk": {"S": "EXCLUSIONS"}}, ConsistentRead=True)
        return {item["sk"]["S"]: sorted(item["terms"]["SS"]) for item in response["Items"]}

    # --- daily digest aggregates -------------------------------------------------

    def add_to_digest(self, day: str, items: Sequence[MatchedMention], *, at: float | None = None) -> None:
        """Count new mentions (stored at ``at``, default now) into the day's digest record.

        Counters ``n#<dimension>#<value>`` (dimensions: total, group, rule, network,
        sentiment, intent) and ``h#<hour>#<group>``; the keys of opportunities and of
        questions are items of their own (``O#<key>``, ``Q#<key>``), so the record stays small
        however busy the day. Not idempotent: the pipeline counts through ``count_job``.
        """
        if not items:
            return
        at = self.clock() if at is None else at
        self._put_digest_keys(day, items, at)
        self._call("update_item", **self._digest_update(day, items, at))

    def count_job(self, job_id: str, at: float, items: Sequence[MatchedMention]) -> bool:
        """Count alert job ``job_id``'s mentions (stored at ``at``) into the digest of that UTC
        day, exactly once: the counters and the job's ``counted`` mark are one transaction, so
        whichever path alerts the job (its own cycle, or the one resuming it after a crash)
        counts it, and a second try counts nothing. False if it was counted before."""
        day = dt.datetime.fromtimestamp(at, tz=dt.UTC).date().isoformat()
        if items:
            self._put_digest_keys(day, items, at)  # idempotent puts: before the mark, so a crash loses none
        transact: list[dict[str, Any]] = [{"Update": {
            "TableName": self.table, "Key": {"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "JOB"}},
            "UpdateExpression": "SET counted = :yes",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(counted)",
            "ExpressionAttributeValues": {":yes": {"BOOL": True}},
        }}]
        if items:
            transact.append({"Update": self._digest_update(day, items, at)})
        try:
            self._call("transact_write_items", TransactItems=transact)
        except ClientError as err:
            reasons = err.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def _digest_update(self, day: str, items: Sequence[MatchedMention], at: float) -> dict[str, Any]:
        """The UpdateItem (or transaction Update) adding the items to the day's counters."""
        hour = dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%H")
        counts: dict[str, int] = {}
        for item in items:
            dims = [("total", "all"), ("network", item.mention.network)]
            dims += [("group", g) for g in sorted({m.group for m in item.matches})]
            dims += [("rule", m.rule) for m in item.matches]
            if item.triage is not None:
                dims.append(("sentiment", item.triage.sentiment_label))
                dims += [("intent", i) for i in sorted(item.triage.intents)]
            for dim, value in dims:
                counts[f"n#{dim}#{value}"] = counts.get(f"n#{dim}#{value}", 0) + 1
            for group in {m.group for m in item.matches}:  # per hour stored, for spike detection
                counts[f"h#{hour}#{group}"] = counts.get(f"h#{hour}#{group}", 0) + 1
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values: dict[str, Any] = {f":c{i}": {"N": str(n)} for i, n in enumerate(counts.values())}
        values[":ttl"] = {"N": str(int(self.clock()) + DIGEST_TTL_DAYS * 86400)}
        return {
            "TableName": self.table, "Key": {"pk": {"S": f"DIGEST#{day}"}, "sk": {"S": "D"}},
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))) + " SET #ttl = :ttl",
            "ExpressionAttributeNames": {**names, "#ttl": TTL_ATTRIBUTE}, "ExpressionAttributeValues": values,
        }

    def _put_digest_keys(self, day: str, items: Sequence[MatchedMention], at: float) -> None:
        """One small item per opportunity (``O#<key>``) and per question (``Q#<key>``) of the day."""
        expires = {"N": str(int(self.clock()) + DIGEST_TTL_DAYS * 86400)}
        puts = [{"PutRequest": {"Item": {"pk": {"S": f"DIGEST#{day}"}, "sk": {"S": f"{kind}#{i.mention.key}"},
                                         "at": {"N": repr(at)}, TTL_ATTRIBUTE: expires}}}
                for i in items if i.triage is not None
                for kind, yes in (("O", i.triage.opportunity), ("Q", "question" in i.triage.intents)) if yes]
        for chunk in _chunks(puts, BATCH_WRITE_ITEMS):
            request: dict[str, Any] = {self.table: list(chunk)}
            while request:
                request = self._call("batch_write_item", RequestItems=request).get("UnprocessedItems") or {}

    def digest_days(self, days: Sequence[str], *, keys: bool | Collection[str] = True) -> dict[str, DigestDay]:
        """The digest records of these UTC days (a day with nothing stored is empty), with
        their opportunity and question keys in the order they were stored (``keys``: of every
        day, or of the days named; one more Query per such day that has a record)."""
        result = {day: DigestDay(day) for day in days}
        for chunk in _chunks(list(days), BATCH_GET_KEYS):
            request = {self.table: {"Keys": [{"pk": {"S": f"DIGEST#{d}"}, "sk": {"S": "D"}} for d in chunk],
                                    "ConsistentRead": True}}
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                for item in response["Responses"].get(self.table, []):
                    day = item["pk"]["S"].removeprefix("DIGEST#")
                    counts: dict[str, dict[str, int]] = {}
                    hourly: dict[str, dict[str, int]] = {}
                    for name, value in item.items():
                        if name.startswith(("n#", "h#")):
                            kind, dim, key = name.split("#", 2)
                            (counts if kind == "n" else hourly).setdefault(dim, {})[key] = int(value["N"])
                    result[day] = DigestDay(day, counts, [], [], hourly)
                request = response.get("UnprocessedKeys") or {}
        for day, record in result.items():
            if record.counts and (keys is True or (not isinstance(keys, bool) and day in keys)):
                record.opportunities, record.questions = self._digest_keys(day)
        return result

    def _digest_keys(self, day: str) -> tuple[list[str], list[str]]:
        """The day's opportunity and question keys, oldest first (one Query, paged)."""
        found: list[tuple[float, str]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table, "KeyConditionExpression": "pk = :pk AND sk BETWEEN :o AND :q",
            "ExpressionAttributeValues": {":pk": {"S": f"DIGEST#{day}"}, ":o": {"S": "O#"}, ":q": {"S": "Q$"}},
            "ConsistentRead": True,
        }
        while True:
            response = self._call("query", **kwargs)
            found.extend((float(i["at"]["N"]), i["sk"]["S"]) for i in response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        found.sort()
        return ([sk[2:] for _, sk in found if sk.startswith("O#")], [sk[2:] for _, sk in found if sk.startswith("Q#")])

    # --- suppressed email addresses (unsubscribed, bounced, complained) ----------

    def suppress(self, address: str, reason: str) -> None:
        self._call(
            "put_item", TableName=self.table,
            Item={"pk": {"S": "SUPPRESS"}, "sk": {"S": address.casefold()}, "reason": {"S": reason},
                  "at": {"S": _iso(self.clock())}},
        )

    def suppressed(self) -> dict[str, str]:
        """Suppressed address (casefolded) -> why."""
        response = self._call("query", TableName=self.table, KeyConditionExpression="pk = :pk",
                              ExpressionAttributeValues={":pk": {"S": "SUPPRESS"}}, ConsistentRead=True)
        return {item["sk"]["S"]: item["reason"]["S"] for item in response["Items"]}

    # --- SMS per recipient per hour -------------------------------------------------

    def count_sms(self, recipient: str, hour: str) -> int:
        """Count one more SMS to the recipient in this hour (``YYYY-MM-DDTHH``); the count now."""
        return self._count_in_hour(f"SMSCOUNT#{recipient}", hour, "sent")

    def _count_in_hour(self, partition: str, hour: str, counter: str) -> int:
        """Add one to ``counter`` of the hour's item (kept two days); the count now."""
        response = self._call(
            "update_item", TableName=self.table, Key={"pk": {"S": partition}, "sk": {"S": hour}},
            UpdateExpression=f"ADD {counter} :one SET #ttl = :ttl", ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(int(self.clock()) + 2 * 86400)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"][counter]["N"])

    def tell_spike(self, group: str, cooldown_seconds: float) -> bool:
        """Record that a spike of ``group`` is told now; False within the cooldown of the last one."""
        now = self.clock()
        try:
            self._call(
                "put_item", TableName=self.table,
                Item={"pk": {"S": "SPIKE"}, "sk": {"S": group}, "told_at": {"N": repr(now)}},
                ConditionExpression="attribute_not_exists(pk) OR told_at < :cutoff",
                ExpressionAttributeValues={":cutoff": {"N": repr(now - cooldown_seconds)}},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # --- what SMS commands (and later the action pages) ask for --------------------

    def snooze(self, key: str, until: int) -> bool:
        """Snooze a stored mention until ``until`` (Unix seconds): it alerts again then. False if
        there is no such mention."""
        try:
            self._call(
                "transact_write_items",
                TransactItems=[
                    {"Update": {"TableName": self.table, "Key": {"pk": {"S": mention_pk(key)}, "sk": {"S": "M"}},
                                "UpdateExpression": "SET snoozed_until = :until, #state = :snoozed",
                                "ConditionExpression": "attribute_exists(pk)",
                                "ExpressionAttributeNames": {"#state": "state"},
                                "ExpressionAttributeValues": {":until": {"N": str(until)},
                                                              ":snoozed": {"S": "snoozed"}}}},
                    {"Put": {"TableName": self.table,
                             "Item": {"pk": {"S": "SNOOZED"}, "sk": {"S": f"{until:012d}#{key}"},
                                      TTL_ATTRIBUTE: {"N": str(until + 30 * 86400)}}}},
                ],
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def snoozes_ended(self) -> list[tuple[str, str]]:
        """(snooze record id, mention key) of snoozes whose time has come, oldest first."""
        response = self._call(
            "query", TableName=self.table, KeyConditionExpression="pk = :pk AND sk <= :now",
            ExpressionAttributeValues={":pk": {"S": "SNOOZED"}, ":now": {"S": f"{int(self.clock()):012d}~"}},
            ConsistentRead=True,
        )
        return [(item["sk"]["S"], item["sk"]["S"].split("#", 1)[1]) for item in response["Items"]]

    def end_snooze(self, record: str, key: str) -> None:
        """The snooze is over and alerted: forget it, and the mention is new again."""
        self._call("delete_item", TableName=self.table, Key={"pk": {"S": "SNOOZED"}, "sk": {"S": record}})
        self.set_mention_state(key, "new")

    def mute_author(self, network: str, handle: str, by: str = "sms") -> None:
        """Never alert on this author of this network again (merged with listen.yaml's mute list)."""
        self._call("put_item", TableName=self.table,
                   Item={"pk": {"S": "MUTES"}, "sk": {"S": f"author#{network}:{handle.casefold()}"},
                         "added_at": {"S": _iso(self.clock())}, "by": {"S": by}})

    def muted_authors(self) -> list[str]:
        """Authors muted from alerts and SMS commands, as ``network:handle``."""
        return self.muted()[0]

    def mute_thread(self, thread_root: str, by: str) -> None:
        """Never alert on this conversation again (``network:root``, as ``Mention.thread_root``)."""
        self._call("put_item", TableName=self.table,
                   Item={"pk": {"S": "MUTES"}, "sk": {"S": f"thread#{thread_root}"},
                         "added_at": {"S": _iso(self.clock())}, "by": {"S": by}})

    def muted(self) -> tuple[list[str], list[str]]:
        """(authors as ``network:handle``, threads as ``network:root``) muted from alerts and
        SMS commands, in one Query (the poll cycle reads both every time it alerts)."""
        response = self._call("query", TableName=self.table, KeyConditionExpression="pk = :pk",
                              ExpressionAttributeValues={":pk": {"S": "MUTES"}})
        sort_keys = [item["sk"]["S"] for item in response["Items"]]
        return ([k.removeprefix("author#") for k in sort_keys if k.startswith("author#")],
                [k.removeprefix("thread#") for k in sort_keys if k.startswith("thread#")])

    def muted_threads(self) -> list[str]:
        """Threads muted from alerts, as ``network:root``."""
        return self.muted()[1]

    def assign_mention(self, key: str, to: str, by: str) -> bool:
        """Record that ``by`` gave the mention to ``to`` (its state stays); False if no such mention."""
        try:
            self._call("update_item", TableName=self.table, Key={"pk": {"S": mention_pk(key)}, "sk": {"S": "M"}},
                       UpdateExpression="SET assigned_to = :to, assigned_by = :by, assigned_at = :at",
                       ConditionExpression="attribute_exists(pk)",
                       ExpressionAttributeValues={":to": {"S": to}, ":by": {"S": by},
                                                  ":at": {"S": _iso(self.clock())}})
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def assigned_to(self, key: str) -> str | None:
        """Who the mention was last assigned to, if anyone."""
        response = self._call("get_item", TableName=self.table, Key={"pk": {"S": mention_pk(key)}, "sk": {"S": "M"}},
                              ProjectionExpression="assigned_to", ConsistentRead=True)
        value = response.get("Item", {}).get("assigned_to")
        return str(value["S"]) if value else None

    def record_reply(self, key: str, text: str, recipient: str, *, status: str, detail: str = "") -> None:
        """Record a reply sent by SMS and what came of it: ``status`` posted (``detail`` the
        reply's URL), failed (the reason in words) or manual (the link to paste it at)."""
        item = {"pk": {"S": "REPLIES"}, "sk": {"S": f"{_iso(self.clock())}#{key}"}, "text": {"S": text},
                "recipient": {"S": recipient}, "status": {"S": status}}
        if detail:
            item["detail"] = {"S": detail}
        self._call("put_item", TableName=self.table, Item=item)

    def replies(self) -> list[dict[str, str]]:
        """Every recorded reply (requested or sent by SMS), oldest first: at, mention, text,
        recipient, status, detail."""
        response = self._call("query", TableName=self.table, KeyConditionExpression="pk = :pk",
                              ExpressionAttributeValues={":pk": {"S": "REPLIES"}}, ConsistentRead=True)
        return [{"at": i["sk"]["S"].split("#", 1)[0], "mention": i["sk"]["S"].split("#", 1)[1],
                 "text": i["text"]["S"], "recipient": i["recipient"]["S"], "status": i["status"]["S"],
                 "detail": i.get("detail", {}).get("S", "")} for i in response["Items"]]

    def request_reply(self, key: str, text: str, recipient: str) -> None:
        """Record a reply to post to the mention on ``recipient``'s behalf (posting is separate)."""
        self._call("put_item", TableName=self.table,
                   Item={"pk": {"S": "REPLIES"}, "sk": {"S": f"{_iso(self.clock())}#{key}"},
                         "text": {"S": text}, "recipient": {"S": recipient}, "status": {"S": "requested"}})

    def count_answers(self, sender: str, hour: str) -> int:
        """Count one more SMS answer to ``sender`` in ``hour`` (``YYYY-MM-DDTHH``); the count now."""
        return self._count_in_hour(f"SMSANSWER#{sender}", hour, "answered")

    def count_commands(self, sender: str, hour: str) -> int:
        """Count one more SMS command from ``sender`` in ``hour`` (``YYYY-MM-DDTHH``); the count now."""
        return self._count_in_hour(f"SMSCOMMAND#{sender}", hour, "commands")

    def rule_mentions_since(self, rule: str, since: float, limit: int = 5000) -> list[StoredMention]:
        """Mentions stored (so alerted, or held for the digest) since ``since`` that matched
        ``rule``, at most ``limit``: for "not relevant", to test a suggested exclusion against
        the week. No index holds mentions by day yet, so this is a Scan in ``PARALLEL_READS``
        segments, filtered on the table side: it reads, and costs, the whole table once per
        "not relevant" click (bench.not_relevant measures it)."""
        values = {":m": {"S": "M"}, ":since": {"S": _iso(since)}, ":rule": {"S": f'"rule":{json.dumps(rule)}'}}

        def segment(numbers: Sequence[int]) -> list[StoredMention]:
            found: list[StoredMention] = []
            request: dict[str, Any] = {
                "TableName": self.table, "Segment": numbers[0], "TotalSegments": PARALLEL_READS,
                "FilterExpression": "sk = :m AND stored_at >= :since AND contains(#data, :rule)",
                "ExpressionAttributeNames": {"#data": "data"}, "ExpressionAttributeValues": values,
            }
            while len(found) < limit:
                response = self._call("scan", **request)
                found += [m for m in map(self._stored, response.get("Items", [])) if rule in m.item.rule_names]
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            return found

        parts = self._in_parallel(segment, [[number] for number in range(PARALLEL_READS)])
        return [m for part in parts for m in part][:limit]


class CycleStateCache:
    """Connector state (session tokens, quotas, pacing) read once and written once per cycle.

    Connectors read and write their state on every request; through this cache a cycle reads
    each entry at most once and writes only the entries whose value changed, at ``flush()``.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._values: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def new_cycle(self) -> None:
        """Forget what was read: another container may have changed it since."""
        with self._lock:
            self._values.clear()
            self._dirty.clear()

    def get_state(self, network: str, name: str) -> dict[str, Any] | None:
        key = (network, name)
        with self._lock:
            if key in self._values:
                value = self._values[key]
                return json.loads(json.dumps(value)) if value is not None else None
        value = self.store.get_state(network, name)
        with self._lock:
            self._values.setdefault(key, value)
        return json.loads(json.dumps(value)) if value is not None else None

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None:
        key = (network, name)
        with self._lock:
            if self._values.get(key) != value:
                self._values[key] = json.loads(json.dumps(value))
                self._dirty.add(key)

    def flush(self) -> None:
        """Write what changed this cycle (one request per changed entry)."""
        with self._lock:
            pending = [(key, self._values[key]) for key in sorted(self._dirty)]
            self._dirty.clear()
        for (network, name), value in pending:
            if value is not None:
                self.store.put_state(network, name, value)
