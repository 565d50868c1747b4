"""Alert jobs and their deliveries (claims, retries, what was not delivered), action nonces, short links.

Items: ``JOB#<id>`` / ``JOB`` (while open: index keys ``OPENJOB`` / ``<created_at>#<id>``), its
deliveries ``JOB#<id>`` / ``D#<recipient>#<channel>`` (while claimed or a retry waits: index keys
``RETRY`` / ``<due>#<job>#<recipient>#<channel>``; once failed or unconfirmed: ``UNDELIVERED`` /
``<at>#…``), ``NONCE#<nonce>`` / ``N`` and ``SHORT#<code>`` / ``S``. Nonces and short links live
here, not with the mentions: they are the exactly-once claims of the links that deliveries carry,
written with the same claim/lease pattern as a delivery.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from chalicelib.model import Delivery, Job
from chalicelib.store.mentions import due_bound
from chalicelib.store.table import Item, Table, iso, pk_sk, string_of
from chalicelib.table import TTL_ATTRIBUTE

JOB_TTL_DAYS = 30
OPEN_JOB = "OPENJOB"
OPEN_JOBS_READ = 100  # open jobs a cycle looks at for stale ones
RETRY_INDEX = "RETRY"  # index partition of deliveries waiting to be tried again
UNDELIVERED_INDEX = "UNDELIVERED"  # index partition of deliveries that failed or may not have arrived
UNDELIVERED_STATUSES = frozenset({"failed", "unconfirmed"})
CLAIM_LEASE_SECONDS = 900.0  # a claimed send not recorded by then is unconfirmed (Lambda runs 15 minutes at most)


def retry_index_key(due: float, job_id: str, recipient: str, channel: str) -> str:
    return f"{int(due):012d}#{job_id}#{recipient}#{channel}"


def undelivered_index_key(at: str, job_id: str, recipient: str, channel: str) -> str:
    return f"{at}#{job_id}#{recipient}#{channel}"


def _delivery_key(job_id: str, recipient: str, channel: str) -> Item:
    return pk_sk(f"JOB#{job_id}", f"D#{recipient}#{channel}")


def _nonce_key(nonce: str) -> Item:
    return pk_sk(f"NONCE#{nonce}", "N")


class Deliveries(Table):
    # --- alert jobs

    def open_job(self, job_id: str, candidate_keys: Sequence[str], lease_seconds: float) -> Job:
        """Record an alert job before its mentions are stored, so a crash can be resumed.
        A job id used before is refused (ConditionalCheckFailedException)."""
        now = self.clock()
        job = Job(job_id, iso(now), now + lease_seconds, list(candidate_keys), "open")
        self._call("put_item", TableName=self.table, Item={
            **pk_sk(f"JOB#{job_id}", "JOB"), "created_at": {"S": job.created_at},
            "lease_until": {"N": repr(job.lease_until)}, "candidates": {"S": json.dumps(job.candidate_keys)},
            "status": {"S": "open"}, "gsi1pk": {"S": OPEN_JOB}, "gsi1sk": {"S": f"{job.created_at}#{job_id}"},
            TTL_ATTRIBUTE: {"N": str(int(now) + JOB_TTL_DAYS * 86400)},
        }, ConditionExpression="attribute_not_exists(pk)")
        return job

    def stale_jobs(self) -> list[Job]:
        """Open jobs whose lease ran out: their cycle died before finishing them (of the oldest
        ``OPEN_JOBS_READ`` open ones), oldest first."""
        now = self.clock()
        items = self._query("gsi1pk = :p", {":p": {"S": OPEN_JOB}}, index=True, limit=OPEN_JOBS_READ)
        return [Job(item["pk"]["S"][4:], item["created_at"]["S"], float(item["lease_until"]["N"]),
                    json.loads(item["candidates"]["S"]), item["status"]["S"])
                for item in items if float(item["lease_until"]["N"]) <= now]

    def take_over_job(self, job: Job, lease_seconds: float) -> bool:
        """Renew a stale job's lease for this cycle; False if another cycle took it first."""
        return self._conditional(
            "update_item", Key=pk_sk(f"JOB#{job.job_id}", "JOB"), UpdateExpression="SET lease_until = :new",
            ConditionExpression="lease_until = :old AND #status = :open",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":new": {"N": repr(self.clock() + lease_seconds)},
                                       ":old": {"N": repr(job.lease_until)}, ":open": {"S": "open"}},
        )

    def close_job(self, job_id: str) -> None:
        self._call("update_item", TableName=self.table, Key=pk_sk(f"JOB#{job_id}", "JOB"),
                   UpdateExpression="SET #status = :done REMOVE gsi1pk, gsi1sk",
                   ExpressionAttributeNames={"#status": "status"}, ExpressionAttributeValues={":done": {"S": "done"}})

    # --- deliveries

    def claim_delivery(self, job_id: str, recipient: str, channel: str, mention_keys: Sequence[str],
                       lease_seconds: float = CLAIM_LEASE_SECONDS) -> bool:
        """Record a delivery as being sent; False if it was recorded before (never send twice).
        Until it is finished it is in the ``RETRY`` index, due when the lease ends, so a run
        that stopped mid-send is found (``due_retries``) and its delivery marked unconfirmed."""
        now = self.clock()
        return self._conditional("put_item", Item={
            **_delivery_key(job_id, recipient, channel), "status": {"S": "sending"},
            "mentions": {"S": json.dumps(list(mention_keys))}, "claimed_at": {"S": iso(now)}, "attempts": {"N": "1"},
            "gsi1pk": {"S": RETRY_INDEX}, "gsi1sk": {"S": retry_index_key(now + lease_seconds, job_id, recipient,
                                                                           channel)},
            TTL_ATTRIBUTE: {"N": str(int(now) + JOB_TTL_DAYS * 86400)},
        }, ConditionExpression="attribute_not_exists(pk)")

    def finish_delivery(
        self, job_id: str, recipient: str, channel: str, status: str, *,
        message_id: str | None = None, detail: str | None = None,
    ) -> None:
        """Mark a recorded delivery sent, failed, skipped or unconfirmed (with the provider's
        message id); a failed or unconfirmed one is listed under ``UNDELIVERED`` for the digest."""
        expression, values = self._finish_expression(job_id, recipient, channel, status, message_id, detail)
        if status not in UNDELIVERED_STATUSES:
            expression += " REMOVE gsi1pk, gsi1sk"
        self._call("update_item", TableName=self.table, Key=_delivery_key(job_id, recipient, channel),
                   UpdateExpression=expression, ExpressionAttributeNames={"#status": "status"},
                   ExpressionAttributeValues=values)

    def _finish_expression(self, job_id: str, recipient: str, channel: str, status: str, message_id: str | None,
                           detail: str | None) -> tuple[str, dict[str, Any]]:
        """The SET clause (and its values) recording how a delivery ended."""
        now = iso(self.clock())
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
            values[":lost_at"] = {"S": undelivered_index_key(now, job_id, recipient, channel)}
        return expression, values

    def undelivered(self, since: float, limit: int = 100) -> list[Delivery]:
        """Deliveries that failed or may not have arrived (``unconfirmed``) since ``since``
        (Unix seconds), oldest first: one Query of the sparse ``UNDELIVERED`` index."""
        items = self._query("gsi1pk = :p AND gsi1sk >= :since",
                            {":p": {"S": UNDELIVERED_INDEX}, ":since": {"S": iso(since)}}, index=True, limit=limit)
        return [self._delivery(item) for item in items]

    @staticmethod
    def _delivery(item: Item) -> Delivery:
        _, recipient, channel = item["sk"]["S"].split("#", 2)
        return Delivery(
            job_id=item["pk"]["S"].removeprefix("JOB#"), recipient=recipient, channel=channel,
            status=item["status"]["S"], mention_keys=json.loads(item["mentions"]["S"]),
            message_id=string_of(item, "message_id"), detail=string_of(item, "detail"),
            sent_at=string_of(item, "finished_at"), attempts=int(item.get("attempts", {"N": "1"})["N"]),
            retry_at=float(item["retry_at"]["N"]) if "retry_at" in item else None,
        )

    def deliveries(self, job_id: str) -> list[Delivery]:
        """The job's deliveries, by recipient and channel."""
        items = self._query("pk = :pk AND begins_with(sk, :d)", {":pk": {"S": f"JOB#{job_id}"}, ":d": {"S": "D#"}})
        return [self._delivery(item) for item in items]

    # --- deliveries retried later (transient SES/SNS failures) --------------------
    # While a retry waits (or is being sent) its delivery item carries the sparse index keys
    # RETRY / <due, Unix seconds>#<job>#<recipient>#<channel>: one Query finds what is due.

    def retry_delivery_later(self, job_id: str, recipient: str, channel: str, *, attempts: int, retry_at: float,
                             detail: str) -> bool:
        """A send failed transiently: mark the delivery (being sent, after ``attempts`` sends)
        to be tried again at ``retry_at``; False if it was not ours to mark (not "sending")."""
        return self._conditional(
            "update_item", Key=_delivery_key(job_id, recipient, channel),
            UpdateExpression="SET #status = :retry, attempts = :n, retry_at = :at, detail = :detail, "
            "finished_at = :now, gsi1pk = :index, gsi1sk = :due",
            ConditionExpression="#status = :sending", ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":retry": {"S": "retry"}, ":n": {"N": str(attempts)}, ":at": {"N": repr(retry_at)},
                ":detail": {"S": detail}, ":now": {"S": iso(self.clock())}, ":index": {"S": RETRY_INDEX},
                ":due": {"S": retry_index_key(retry_at, job_id, recipient, channel)}, ":sending": {"S": "sending"},
            },
        )

    def due_retries(self, limit: int = 100) -> list[Delivery]:
        """Deliveries whose retry is due, and retries whose sending cycle stopped (still
        "sending" after its lease), oldest first. The index is eventually consistent:
        ``claim_retry`` decides who sends."""
        items = self._query("gsi1pk = :p AND gsi1sk <= :now",
                            {":p": {"S": RETRY_INDEX}, ":now": {"S": due_bound(self.clock())}}, index=True,
                            limit=limit)
        return [self._delivery(item) for item in items]

    def claim_retry(self, delivery: Delivery, lease_seconds: float) -> bool:
        """Take a due retry for this cycle (status "retry" with the attempts seen -> "sending",
        one attempt more); False if another cycle took it first. Until finished it stays in
        the index, due at the lease's end, so a cycle that stops mid-send is noticed."""
        now = self.clock()
        d = delivery
        return self._conditional(
            "update_item", Key=_delivery_key(d.job_id, d.recipient, d.channel),
            UpdateExpression="SET #status = :sending, attempts = :next, claimed_at = :now, gsi1sk = :lease",
            ConditionExpression="#status = :retry AND attempts = :n", ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":sending": {"S": "sending"}, ":retry": {"S": "retry"}, ":n": {"N": str(d.attempts)},
                ":next": {"N": str(d.attempts + 1)}, ":now": {"S": iso(now)},
                ":lease": {"S": retry_index_key(now + lease_seconds, d.job_id, d.recipient, d.channel)},
            },
        )

    def finish_retry(self, delivery: Delivery, attempts: int, status: str, *, message_id: str | None = None,
                     detail: str | None = None) -> bool:
        """Record how a retried delivery (being sent, after ``attempts`` sends) ended — sent,
        failed, skipped or unconfirmed — and drop it from the index; False if it was not
        being sent with that attempt count (another cycle finished it)."""
        d = delivery
        expression, values = self._finish_expression(d.job_id, d.recipient, d.channel, status, message_id, detail)
        values.update({":sending": {"S": "sending"}, ":n": {"N": str(attempts)}})
        remove = "retry_at" if status in UNDELIVERED_STATUSES else "gsi1pk, gsi1sk, retry_at"
        return self._conditional(
            "update_item", Key=_delivery_key(d.job_id, d.recipient, d.channel),
            UpdateExpression=f"{expression} REMOVE {remove}",
            ConditionExpression="#status = :sending AND attempts = :n",
            ExpressionAttributeNames={"#status": "status"}, ExpressionAttributeValues=values,
        )

    # --- action nonces (single-use links) -------------------------------------------

    def use_nonce(self, nonce: str, expires_at: int) -> bool:
        """Spend a single-use action nonce; False if it was spent before."""
        return self._conditional("put_item", Item={**_nonce_key(nonce), TTL_ATTRIBUTE: {"N": str(expires_at)}},
                                 ConditionExpression="attribute_not_exists(pk)")

    def claim_nonce(self, nonce: str, expires_at: int, lease_seconds: float) -> str | None:
        """Hold a single-use action nonce while its action runs: the claim's id, or None if the
        nonce was spent or another request holds it (a claim left by a crash lapses after
        ``lease_seconds``). Then ``spend_nonce`` once the action succeeded, or ``release_nonce``."""
        claim = secrets.token_hex(8)
        now = self.clock()
        held = self._conditional(
            "put_item", Item={**_nonce_key(nonce), "claim": {"S": claim},
                              "held_until": {"N": repr(now + lease_seconds)}, TTL_ATTRIBUTE: {"N": str(expires_at)}},
            ConditionExpression="attribute_not_exists(pk) OR held_until < :now",
            ExpressionAttributeValues={":now": {"N": repr(now)}},
        )
        return claim if held else None

    def spend_nonce(self, nonce: str, claim: str, bound_to: str = "") -> bool:
        """Spend a claimed nonce for good, remembering what it was spent on (``bound_to``, e.g.
        the key of the reply a Reply link posted); False if the claim was lost meanwhile."""
        return self._conditional(
            "update_item", Key=_nonce_key(nonce), UpdateExpression="SET bound_to = :bound REMOVE held_until, claim",
            ConditionExpression="claim = :claim",
            ExpressionAttributeValues={":claim": {"S": claim}, ":bound": {"S": bound_to}},
        )

    def release_nonce(self, nonce: str, claim: str) -> None:
        """Give a claimed nonce back (its action failed): the link works again. Nothing if the
        claim is no longer held."""
        self._conditional("delete_item", Key=_nonce_key(nonce), ConditionExpression="claim = :claim",
                          ExpressionAttributeValues={":claim": {"S": claim}})

    def spent_nonce(self, nonce: str) -> str | None:
        """What a spent nonce was spent on ("" if nothing was named); None if it is not spent
        (never used, or only held by a running request)."""
        item = self._call("get_item", TableName=self.table, Key=_nonce_key(nonce), ConsistentRead=True).get("Item")
        if item is None or "claim" in item:
            return None
        return string_of(item, "bound_to") or ""

    # --- short links (for SMS) ----------------------------------------------------

    def put_short_link(self, code: str, token: str, expires_at: int) -> None:
        """Record a short code's token; a code in use is refused (ConditionalCheckFailedException)."""
        self._call("put_item", TableName=self.table,
                   Item={**pk_sk(f"SHORT#{code}", "S"), "token": {"S": token}, TTL_ATTRIBUTE: {"N": str(expires_at)}},
                   ConditionExpression="attribute_not_exists(pk)")

    def get_short_link(self, code: str) -> str | None:
        """The token behind a short code; None if unknown or expired (TTL deletes lazily)."""
        item = self._call("get_item", TableName=self.table, Key=pk_sk(f"SHORT#{code}", "S")).get("Item")
        if not item or int(item[TTL_ATTRIBUTE]["N"]) <= self.clock():
            return None
        return str(item["token"]["S"])
