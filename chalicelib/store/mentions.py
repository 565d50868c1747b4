"""Mentions and what is done to them: storing each once, state, audit, snoozes, assignment, replies.

Items: ``M#<network>#<id>`` / ``M`` (the mention; ``job`` names the alert job that stored it,
``snoozed_until`` and ``assigned_*`` what was done to it), ``M#…`` / ``A#<at>#<nonce>`` (its audit),
``SNOOZED`` / ``<until>#<key>`` (snoozes, oldest first) and ``REPLIES`` / ``<at>#<key>``.
``store_new_mentions`` opens the alert job first (``Deliveries.open_job``): a mention belongs to
exactly one job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.model import Job, MatchedMention, StoredMention, matched_from_dict, matched_to_dict
from chalicelib.store.inbox import InboxEntry, days_since, facets_of, inbox_keys, rule_keys_since, sort_key_of
from chalicelib.store.table import (
    PARALLEL_PUTS,
    TRANSACTION_ITEMS,
    Item,
    Table,
    chunks,
    iso,
    pk_sk,
    refused_item,
    string_of,
)
from chalicelib.table import TTL_ATTRIBUTE

MENTION_TTL_DAYS = 90
SNOOZE_RECORD_TTL_DAYS = 30  # a snooze record outlives its time by this much
MAX_STORED_TEXT = 20_000  # characters of a mention's text kept (at most ~120 KB as JSON: items hold 400 KB)
MAX_STORED_TITLE = 500  # characters of a mention's title kept
# A cycle storing more new mentions than this stores them by transactions of 100 (two write units per item
# per KB, one round trip per 100); fewer, by one conditional put each (one unit, one round trip each). A
# minute's poll stores a few (make cost: 7 a cycle at 10,000 a day); a backlog or a first run, thousands,
# whose puts would cost a round trip and a request's CPU each (bench.pipeline: 5,110 requests for 5,000).
PUTS_UP_TO = TRANSACTION_ITEMS


def mention_pk(key: str) -> str:
    return f"M#{key}"


def capped(item: MatchedMention) -> MatchedMention:
    """The mention as stored: text cut to ``MAX_STORED_TEXT`` characters and the title to
    ``MAX_STORED_TITLE`` (a 450 KB post would not fit DynamoDB's 400 KB item), match spans
    past the cut dropped."""
    m = item.mention
    if len(m.text) <= MAX_STORED_TEXT and len(m.title) <= MAX_STORED_TITLE:
        return item
    title, body_text = m.title[:MAX_STORED_TITLE], m.text[:MAX_STORED_TEXT]
    old_body, body = (len(m.title) + 2, len(title) + 2) if m.title else (0, 0)

    def kept(span: tuple[int, int]) -> tuple[int, int] | None:
        start, end = span
        if start < old_body:  # in the title
            return span if end <= len(title) else None
        start, end = start - old_body + body, end - old_body + body  # the title may be shorter now
        return (start, end) if end <= body + len(body_text) else None

    matches = tuple(replace(r, spans=tuple(k for sp in r.spans if (k := kept(sp)) is not None)) for r in item.matches)
    return replace(item, mention=replace(m, title=title, text=body_text), matches=matches)


def snooze_record(until: int, key: str) -> str:
    """The ``SNOOZED`` sort key: due time first, so one range read finds the snoozes that ended."""
    return f"{until:012d}#{key}"


def due_bound(now: float) -> str:
    """The upper sort-key bound of everything due at ``now`` (keys start with 12-digit Unix seconds)."""
    return f"{int(now):012d}~"


def reply_record(at: str, key: str, text: str, recipient: str, status: str, detail: str) -> dict[str, str]:
    return {"at": at, "mention": key, "text": text, "recipient": recipient, "status": status,
            "detail": detail}


class Mentions(Table):
    # open_job is the Deliveries aggregate's; store_new_mentions records the job first
    open_job: Callable[[str, Sequence[str], float], Job]
    inbox_entries: Callable[[Sequence[str]], list[InboxEntry]]  # the Inbox aggregate's

    def unseen(self, items: Sequence[MatchedMention]) -> list[MatchedMention]:
        """The mentions not stored before (one BatchGetItem per 100 keys), each once."""
        unique = list({m.mention.key: m for m in items}.values())
        keys = [pk_sk(mention_pk(m.mention.key), "M") for m in unique]
        existing = {item["pk"]["S"][2:] for item in self._batch_get(keys, consistent=False, projection="pk")}
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
        conditional put (absent only), up to ``PARALLEL_PUTS`` at once, so of two
        overlapping cycles only one stores, and so only one alerts, a given mention; above
        ``PUTS_UP_TO`` mentions the same conditional puts go in transactions of 100.
        """
        if not candidates:
            return []
        self.open_job(job_id, [m.mention.key for m in candidates], lease_seconds)
        now = self.clock()
        stored_at, expires = iso(now), str(int(now) + MENTION_TTL_DAYS * 86400)

        def put(m: MatchedMention) -> dict[str, Any]:
            facets = facets_of(m)
            return {
                "Item": {
                    **pk_sk(mention_pk(m.mention.key), "M"),
                    "data": {"S": json.dumps(matched_to_dict(m), separators=(",", ":"))},
                    "state": {"S": "new"},
                    "stored_at": {"S": stored_at},
                    "job": {"S": job_id},
                    TTL_ATTRIBUTE: {"N": expires},
                    **inbox_keys(stored_at, m.mention.key, facets), "facets": {"S": facets},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }

        items = [capped(m) for m in candidates]
        if len(items) > PUTS_UP_TO:
            parts = list(chunks(items, TRANSACTION_ITEMS))
        else:
            parts = list(chunks(items, -(-len(items) // PARALLEL_PUTS)))  # bounded: a worker a part

        def _put_part(part: Sequence[MatchedMention]) -> tuple[list[MatchedMention], list[tuple[MatchedMention, str]]]:
            # named with _: the units count as store_new_mentions'
            return self._transact_absent(part, put) if len(items) > PUTS_UP_TO else self._put_absent(part, put)

        results = self._in_parallel(_put_part, parts, PARALLEL_PUTS)
        if skipped is not None:
            skipped.extend(r for _, refused in results for r in refused)
        return [m for stored, _ in results for m in stored]

    def _put_absent(self, items: Sequence[MatchedMention], put: Callable[[MatchedMention], dict[str, Any]],
                    ) -> tuple[list[MatchedMention], list[tuple[MatchedMention, str]]]:
        """Store the mentions one conditional put each (one write unit per KB; a transaction
        would bill two and no guarantee needs one): those stored, and those DynamoDB refuses
        with the reason (one stored by another cycle meanwhile is left out silently)."""
        stored, refused = [], []
        for m in items:
            try:
                if self._conditional("put_item", **put(m)):
                    stored.append(m)
            except ClientError as err:
                if err.response["Error"]["Code"] != "ValidationException":
                    raise
                message = err.response["Error"].get("Message", "ValidationException")
                refused.append((m, f"{m.mention.key} could not be stored ({message})"))
        return stored, refused

    def _transact_absent(self, items: Sequence[MatchedMention], put: Callable[[MatchedMention], dict[str, Any]],
                         ) -> tuple[list[MatchedMention], list[tuple[MatchedMention, str]]]:
        """``_put_absent`` in one transaction: those another cycle stored meanwhile are left out and
        the rest tried again; an item DynamoDB refuses sends the part to ``_put_absent`` (one bad
        item must not keep the others out)."""
        left = list(items)
        while left:
            try:
                failed = self._transact([{"Put": {"TableName": self.table, **put(m)}} for m in left])
            except ClientError as err:
                if not refused_item(err):
                    raise
                return self._put_absent(left, put)
            if failed is None:
                return left, []
            left = [m for i, m in enumerate(left) if i not in failed]
        return [], []

    def get_mention(self, key: str) -> StoredMention | None:
        response = self._call("get_item", TableName=self.table, Key=pk_sk(mention_pk(key), "M"),
                              ConsistentRead=True)
        item = response.get("Item")
        return self._stored(item) if item else None

    def get_mentions(self, keys: Sequence[str]) -> dict[str, StoredMention]:
        found = self._batch_get([pk_sk(mention_pk(k), "M") for k in dict.fromkeys(keys)])
        return {stored.key: stored for stored in map(self._stored, found)}

    @staticmethod
    def _stored(item: Item) -> StoredMention:
        return StoredMention(item=matched_from_dict(json.loads(item["data"]["S"])), state=item["state"]["S"],
                             stored_at=item["stored_at"]["S"], job=string_of(item, "job"))

    def set_mention_state(self, key: str, state: str) -> bool:
        """Set a stored mention's state (e.g. handled); False if no such mention."""
        return self._with_sort_key(key, lambda sets, guard, values: self._conditional(
            "update_item", Key=pk_sk(mention_pk(key), "M"), UpdateExpression=f"SET #state = :state{sets}",
            ConditionExpression=f"attribute_exists(pk) AND {guard}", ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":state": {"S": state}, **values},
        ), state=state)

    def _with_sort_key(self, key: str, write: Callable[[str, str, Item], bool], *, state: str | None = None,
                       facets: str | None = None) -> bool:
        """Change a mention's state or facets and its ``inbox`` sort key with them (the inbox's order
        is in the key): read its state, facets and time stored (one consistent GetItem), then
        ``write(", isk = :isk", <the state and facets as read>, values)``, again if either changed
        meanwhile. False if the mention is not stored or ``write``'s own condition failed."""
        read: tuple[str, str | None] | None = None
        for _ in range(5):
            got = self._call("get_item", TableName=self.table, Key=pk_sk(mention_pk(key), "M"), ConsistentRead=True,
                             ProjectionExpression="#state, facets, stored_at",
                             ExpressionAttributeNames={"#state": "state"}).get("Item")
            if got is None or (got["state"]["S"], string_of(got, "facets")) == read:
                return False  # gone, or nothing changed meanwhile: the write's own condition failed
            read = (got["state"]["S"], string_of(got, "facets"))
            if read[1] is None:  # stored before the inbox: not in its index
                done = write("", "#state = :read_state AND attribute_not_exists(facets)",
                             {":read_state": {"S": read[0]}})
            else:
                isk = sort_key_of(state or read[0], facets or read[1], got["stored_at"]["S"], key)
                done = write(", isk = :isk", "#state = :read_state AND facets = :read_facets",
                             {":isk": {"S": isk}, ":read_state": {"S": read[0]}, ":read_facets": {"S": read[1]}})
            if done:
                return True
        raise RuntimeError(f"mention {key}: its state or facets kept changing while being written")

    def audit(self, key: str, action: str, recipient: str, result: str, nonce: str) -> None:
        """Record who did what to a mention, when, and how it went."""
        now = self.clock()
        self._call("put_item", TableName=self.table, Item={
            **pk_sk(mention_pk(key), f"A#{iso(now)}#{nonce}"), "action": {"S": action},
            "recipient": {"S": recipient}, "result": {"S": result},
            TTL_ATTRIBUTE: {"N": str(int(now) + MENTION_TTL_DAYS * 86400)},
        })

    def audit_log(self, key: str) -> list[dict[str, str]]:
        """What was done to a mention (at, action, recipient, result), oldest first."""
        items = self._query("pk = :pk AND begins_with(sk, :a)",
                            {":pk": {"S": mention_pk(key)}, ":a": {"S": "A#"}}, consistent=False)
        return [{"at": i["sk"]["S"].split("#")[1], "action": i["action"]["S"], "recipient": i["recipient"]["S"],
                 "result": i["result"]["S"]} for i in items]

    def snooze(self, key: str, until: int) -> bool:
        """Snooze a stored mention until ``until`` (Unix seconds): it alerts again then. False if
        there is no such mention."""
        return self._with_sort_key(key, lambda sets, guard, values: self._transact([
            {"Update": {"TableName": self.table, "Key": pk_sk(mention_pk(key), "M"),
                        "UpdateExpression": f"SET snoozed_until = :until, #state = :snoozed{sets}",
                        "ConditionExpression": f"attribute_exists(pk) AND {guard}",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {":until": {"N": str(until)}, ":snoozed": {"S": "snoozed"},
                                                      **values}}},
            {"Put": {"TableName": self.table,
                     "Item": {**pk_sk("SNOOZED", snooze_record(until, key)),
                              TTL_ATTRIBUTE: {"N": str(until + SNOOZE_RECORD_TTL_DAYS * 86400)}}}},
        ]) is None, state="snoozed")

    def snoozes_ended(self) -> list[tuple[str, str]]:
        """(snooze record id, mention key) of snoozes whose time has come, oldest first."""
        items = self._query("pk = :pk AND sk <= :now",
                            {":pk": {"S": "SNOOZED"}, ":now": {"S": due_bound(self.clock())}})
        return [(item["sk"]["S"], item["sk"]["S"].split("#", 1)[1]) for item in items]

    def end_snooze(self, record: str, key: str) -> None:
        """The snooze is over and alerted: forget it, and the mention is new again."""
        self._call("delete_item", TableName=self.table, Key=pk_sk("SNOOZED", record))
        self.set_mention_state(key, "new")

    def assign_mention(self, key: str, to: str, by: str) -> bool:
        """Record that ``by`` gave the mention to ``to`` (its state stays); False if no such mention."""
        return self._conditional(
            "update_item", Key=pk_sk(mention_pk(key), "M"),
            UpdateExpression="SET assigned_to = :to, assigned_by = :by, assigned_at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":to": {"S": to}, ":by": {"S": by}, ":at": {"S": iso(self.clock())}},
        )

    def assigned_to(self, key: str) -> str | None:
        """Who the mention was last assigned to, if anyone."""
        response = self._call("get_item", TableName=self.table, Key=pk_sk(mention_pk(key), "M"),
                              ProjectionExpression="assigned_to", ConsistentRead=True)
        return string_of(response.get("Item", {}), "assigned_to")

    def record_reply(self, key: str, text: str, recipient: str, *, status: str, detail: str = "") -> None:
        """Record a reply sent by SMS and what came of it: ``status`` posted (``detail`` the
        reply's URL), failed (the reason in words) or manual (the link to paste it at)."""
        item = {**pk_sk("REPLIES", f"{iso(self.clock())}#{key}"), "text": {"S": text},
                "recipient": {"S": recipient}, "status": {"S": status}}
        if detail:
            item["detail"] = {"S": detail}
        self._call("put_item", TableName=self.table, Item=item)

    def request_reply(self, key: str, text: str, recipient: str) -> None:
        """Record a reply to post to the mention on ``recipient``'s behalf (posting is separate)."""
        self.record_reply(key, text, recipient, status="requested")

    def replies(self) -> list[dict[str, str]]:
        """Every recorded reply (requested or sent by SMS), oldest first: at, mention, text,
        recipient, status, detail."""
        return [reply_record(*i["sk"]["S"].split("#", 1), i["text"]["S"], i["recipient"]["S"], i["status"]["S"],
                             string_of(i, "detail") or "")
                for i in self._query("pk = :pk", {":pk": {"S": "REPLIES"}})]

    def rule_mentions_since(self, rule: str, since: float, limit: int = 5000) -> list[StoredMention]:
        """Mentions stored (so alerted, or held for the digest) since ``since`` that matched
        ``rule``, at most ``limit``, newest first: for "not relevant", to test a suggested exclusion
        against the week. The days' entries of the ``inbox`` index (small) pick the keys; only those
        mentions are read (eventually consistent: a week's screening needs no later write)."""
        keys = rule_keys_since(self.inbox_entries(days_since(since, self.clock())), rule, iso(since), limit)
        found = {m.key: m for m in map(self._stored, self._batch_get([pk_sk(mention_pk(k), "M") for k in keys],
                                                                      consistent=False))}
        return [found[k] for k in keys if k in found]
