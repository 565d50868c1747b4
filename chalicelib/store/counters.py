"""Counters and per-day records: SMS/answer/command hour counts, spikes told, daily caps, stories
alerted, and the digest's day counts and keys.

Items: ``SMSCOUNT#|SMSANSWER#|SMSCOMMAND#<who>`` / ``<hour>`` (kept two days), ``SPIKE`` / ``<group>``,
``CAPS#<day>`` / ``CAPS`` (``c#<rule>`` sent, ``r#<rule>`` raised), ``STORIES#<day>`` /
``<at>#<random>#<n>`` (a cycle's fingerprints -> leads), ``DIGEST#<UTC day>`` / ``D#<HHMM>`` (the
``n#<dimension>#<value>`` counters of the mentions counted in the UTC quarter hour starting then, so
that any recipient's local days are sums of whole slots: every time zone's offset is a whole number
of quarter hours; ``D``: a day counted before, per UTC day, with ``h#<hour>#<group>`` counters) with
``O#<key>`` / ``Q#<key>`` items for the day's opportunities and questions (with when each was counted).
``count_job`` lives here although it marks the job item: the mark and the slot's counters are one
transaction, and what it decides is "counted once".
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Collection, Sequence
from typing import Any

from chalicelib.model import DigestDay, MatchedMention
from chalicelib.store.table import Item, Table, iso, pk_sk
from chalicelib.table import TTL_ATTRIBUTE

DIGEST_TTL_DAYS = 40
HOUR_COUNT_TTL_DAYS = 2
CAPS_TTL_DAYS = 3
STORIES_TTL_DAYS = 3
MAX_STORIES_BODY = 300_000  # characters of fingerprints (as JSON) in one record (items hold 400 KB)
MAX_FINGERPRINT_BYTES = 1024  # a longer fingerprint (a URL) is not remembered


SLOT_MINUTES = 15  # the digest counters' time slot: every time zone's UTC offset is a multiple of it
LEGACY_SK = "D"  # a digest record kept per UTC day (before the slots): read until it expires


def utc_day(at: float) -> str:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).date().isoformat()


def digest_slot(at: float) -> str:
    """The UTC quarter hour ``at`` falls in, as the "HHMM" it starts at."""
    moment = dt.datetime.fromtimestamp(at, tz=dt.UTC)
    return f"{moment.hour:02d}{moment.minute - moment.minute % SLOT_MINUTES:02d}"


def digest_counters(items: Sequence[MatchedMention]) -> dict[str, int]:
    """The slot-record counters the items add: ``n#<dimension>#<value>`` (dimensions: total,
    group, rule, network, sentiment, intent); spikes sum a group's slots of an hour."""
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
    return counts


def _add_to(totals: dict[str, dict[str, int]], counts: dict[str, dict[str, int]]) -> None:
    for dim, values in counts.items():
        into = totals.setdefault(dim, {})
        for value, n in values.items():
            into[value] = into.get(value, 0) + n


def digest_day_from(day: str, records: dict[str, dict[str, int]]) -> DigestDay:
    """A day's record (keys still empty) from its items' counters, by sort key: ``D#<HHMM>`` a
    slot, ``D`` a record kept per UTC day before the slots (its counts are in no slot)."""
    counts: dict[str, dict[str, int]] = {}
    hourly: dict[str, dict[str, int]] = {}
    slots: dict[str, dict[str, dict[str, int]]] = {}
    for sk, counters in sorted(records.items()):
        found: dict[str, dict[str, int]] = {}
        for name, value in counters.items():
            if name.startswith(("n#", "h#")):
                kind, dim, key = name.split("#", 2)
                (found if kind == "n" else hourly).setdefault(dim, {})[key] = value
        _add_to(counts, found)
        if sk != LEGACY_SK:
            slots[sk.removeprefix("D#")] = found
            hour = hourly.setdefault(sk[2:4], {})
            for group, n in found.get("group", {}).items():
                hour[group] = hour.get(group, 0) + n
    return DigestDay(day, counts, [], [], hourly, slots)


def hour_groups(hour: str, records: dict[str, dict[str, int]]) -> dict[str, int]:
    """Mentions per rule group counted in UTC hour ``hour`` ("HH"), of a day's items by sort key
    (its slots of that hour; a record kept per UTC day before the slots: its ``h#<hour>#`` counters)."""
    groups: dict[str, int] = {}
    for sk, counters in records.items():
        prefix = f"h#{hour}#" if sk == LEGACY_SK else "n#group#" if sk.startswith(f"D#{hour}") else None
        for name, n in counters.items() if prefix else ():
            if name.startswith(prefix):
                groups[name.removeprefix(prefix)] = groups.get(name.removeprefix(prefix), 0) + n
    return groups


def digest_key_items(items: Sequence[MatchedMention]) -> list[str]:
    """The day's key items the mentions add: ``O#<key>`` per opportunity, ``Q#<key>`` per question."""
    return [f"{kind}#{i.mention.key}" for i in items if i.triage is not None
            for kind, yes in (("O", i.triage.opportunity), ("Q", "question" in i.triage.intents)) if yes]


def caps_counters(counts: dict[str, int] | None, raised: dict[str, int] | None) -> dict[str, int]:
    """The caps-record counters to add: ``c#<rule>`` alerts sent, ``r#<rule>`` allowance granted."""
    return {**{f"c#{rule}": n for rule, n in (counts or {}).items() if n},
            **{f"r#{rule}": n for rule, n in (raised or {}).items() if n}}


def caps_from(counters: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    return ({k[2:]: n for k, n in counters.items() if k.startswith("c#")},
            {k[2:]: n for k, n in counters.items() if k.startswith("r#")})


def story_records(fingerprints: dict[str, str], now: float) -> list[tuple[str, str]]:
    """One cycle's stories as the day's records: (sort key, fingerprints -> lead as JSON), each
    body at most ``MAX_STORIES_BODY`` characters. The sort key starts with the time, so reading
    the records in key order lets a later lead of a fingerprint win. A fingerprint over
    ``MAX_FINGERPRINT_BYTES`` of UTF-8 (a hostile URL), or one UTF-8 cannot encode, is left out."""
    def fits(fp: str) -> bool:
        try:
            return 0 < len(fp.encode()) <= MAX_FINGERPRINT_BYTES
        except UnicodeEncodeError:
            return False

    parts: list[dict[str, str]] = []
    size = MAX_STORIES_BODY
    for fp, lead in fingerprints.items():
        if not fits(fp):
            continue
        entry = len(json.dumps({fp: lead}, separators=(",", ":")))
        if size + entry > MAX_STORIES_BODY:
            parts.append({})
            size = 2
        parts[-1][fp] = lead
        size += entry
    stamp = f"{iso(now)}#{secrets.token_hex(4)}"
    return [(f"{stamp}#{i:03d}", json.dumps(part, separators=(",", ":"))) for i, part in enumerate(parts)]


def with_keys(record: DigestDay, times: dict[str, float]) -> None:
    """Fill the record's opportunity and question keys (oldest first) from ``O#``/``Q#`` -> when counted."""
    found = sorted((at, sk) for sk, at in times.items())
    record.opportunities = [sk[2:] for _, sk in found if sk.startswith("O#")]
    record.questions = [sk[2:] for _, sk in found if sk.startswith("Q#")]
    record.key_times = {sk[2:]: at for at, sk in found}


def _numbers(item: Item) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if "N" in value}


class Counters(Table):
    def _adding(self, key: Item, counters: dict[str, int], ttl_days: int) -> Item:
        """The UpdateItem (also a transaction's Update) adding ``counters`` to the item at ``key``
        and setting its expiry ``ttl_days`` from now."""
        names = {f"#c{i}": name for i, name in enumerate(counters)}
        values: dict[str, Any] = {f":c{i}": {"N": str(n)} for i, n in enumerate(counters.values())}
        values[":ttl"] = {"N": str(int(self.clock()) + ttl_days * 86400)}
        return {"TableName": self.table, "Key": key,
                "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
                + " SET #ttl = :ttl",
                "ExpressionAttributeNames": {**names, "#ttl": TTL_ATTRIBUTE}, "ExpressionAttributeValues": values}

    # --- SMS per recipient per hour

    def count_sms(self, recipient: str, hour: str) -> int:
        """Count one more SMS to the recipient in this hour (``YYYY-MM-DDTHH``); the count now."""
        return self._count_in_hour(f"SMSCOUNT#{recipient}", hour, "sent")

    def count_answers(self, sender: str, hour: str) -> int:
        """Count one more SMS answer to ``sender`` in ``hour`` (``YYYY-MM-DDTHH``); the count now."""
        return self._count_in_hour(f"SMSANSWER#{sender}", hour, "answered")

    def count_commands(self, sender: str, hour: str) -> int:
        """Count one more SMS command from ``sender`` in ``hour`` (``YYYY-MM-DDTHH``); the count now."""
        return self._count_in_hour(f"SMSCOMMAND#{sender}", hour, "commands")

    def _count_in_hour(self, partition: str, hour: str, counter: str) -> int:
        """Add one to ``counter`` of the hour's item (kept two days); the count now."""
        response = self._call("update_item", **self._adding(pk_sk(partition, hour), {counter: 1}, HOUR_COUNT_TTL_DAYS),
                              ReturnValues="UPDATED_NEW")
        return int(response["Attributes"][counter]["N"])

    def tell_spike(self, group: str, cooldown_seconds: float) -> bool:
        """Record that a spike of ``group`` is told now; False within the cooldown of the last one."""
        now = self.clock()
        return self._conditional(
            "put_item", Item={**pk_sk("SPIKE", group), "told_at": {"N": repr(now)}},
            ConditionExpression="attribute_not_exists(pk) OR told_at < :cutoff",
            ExpressionAttributeValues={":cutoff": {"N": repr(now - cooldown_seconds)}},
        )

    # --- daily caps

    def daily_caps(self, day: str) -> tuple[dict[str, int], dict[str, int]]:
        """(instant alerts sent today per rule, extra allowance granted today per rule)."""
        response = self._call("get_item", TableName=self.table, Key=pk_sk(f"CAPS#{day}", "CAPS"), ConsistentRead=True)
        return caps_from(_numbers(response.get("Item", {})))

    def add_to_daily_caps(self, day: str, *, counts: dict[str, int] | None = None,
                          raised: dict[str, int] | None = None) -> None:
        """Add alerts sent (``counts``) or allowance granted (``raised``) per rule for the day."""
        counters = caps_counters(counts, raised)
        if counters:
            self._call("update_item", **self._adding(pk_sk(f"CAPS#{day}", "CAPS"), counters, CAPS_TTL_DAYS))

    # --- stories already alerted (cross-network and near-duplicate collapse)

    def known_stories(self, days: Sequence[str]) -> dict[str, str]:
        """Fingerprints of stories alerted on these days -> the key of each story's lead (one
        paged Query per day; a later record's lead wins)."""
        known: dict[str, str] = {}
        for day in days:
            for item in self._query("pk = :pk", {":pk": {"S": f"STORIES#{day}"}}):
                known.update(json.loads(item["fingerprints"]["S"]))
        return known

    def remember_stories(self, day: str, fingerprints: dict[str, str], attempts: int = 5) -> bool:
        """Add one cycle's fingerprints to the day's stories as records of their own
        (``STORIES#<day>`` / ``<at>#<random>#<n>``, at most 300 KB each, kept three days), so a
        day's stories never grow into one item read and rewritten whole every cycle (issue 19):
        a cycle writes only what it adds, in one request however busy the day. Always True (a
        day is never full); ``attempts`` is kept for the callers."""
        expires = {"N": str(int(self.clock()) + STORIES_TTL_DAYS * 86400)}
        self._batch_write([{**pk_sk(f"STORIES#{day}", sk), "fingerprints": {"S": body}, TTL_ATTRIBUTE: expires}
                           for sk, body in story_records(fingerprints, self.clock())])
        return True

    # --- daily digest aggregates

    def add_to_digest(self, day: str, items: Sequence[MatchedMention], *, at: float | None = None) -> None:
        """Count new mentions (stored at ``at``, default now) into the day's record of the
        quarter hour of ``at`` (``D#<HHMM>``).

        Counters ``n#<dimension>#<value>`` (dimensions: total, group, rule, network,
        sentiment, intent); the keys of opportunities and of questions are items of their own
        (``O#<key>``, ``Q#<key>``), so a record stays small however busy the day. Not
        idempotent: the pipeline counts through ``count_job``.
        """
        if not items:
            return
        at = self.clock() if at is None else at
        self._put_digest_keys(day, items, at)
        self._call("update_item", **self._adding(pk_sk(f"DIGEST#{day}", f"D#{digest_slot(at)}"),
                                                 digest_counters(items), DIGEST_TTL_DAYS))

    def count_job(self, job_id: str, at: float, items: Sequence[MatchedMention]) -> bool:
        """Count alert job ``job_id``'s mentions (stored at ``at``) into the digest of that UTC
        day, exactly once: the counters and the job's ``counted`` mark are one transaction, so
        whichever path alerts the job (its own cycle, or the one resuming it after a crash)
        counts it, and a second try counts nothing. False if it was counted before (or there
        is no such job)."""
        day = utc_day(at)
        if items:
            self._put_digest_keys(day, items, at)  # idempotent puts: before the mark, so a crash loses none
        transact: list[Item] = [{"Update": {
            "TableName": self.table, "Key": pk_sk(f"JOB#{job_id}", "JOB"), "UpdateExpression": "SET counted = :yes",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(counted)",
            "ExpressionAttributeValues": {":yes": {"BOOL": True}},
        }}]
        if items:
            transact.append({"Update": self._adding(pk_sk(f"DIGEST#{day}", f"D#{digest_slot(at)}"),
                                                    digest_counters(items), DIGEST_TTL_DAYS)})
        return self._transact(transact) is None

    def _put_digest_keys(self, day: str, items: Sequence[MatchedMention], at: float) -> None:
        """One small item per opportunity (``O#<key>``) and per question (``Q#<key>``) of the day."""
        expires = {"N": str(int(self.clock()) + DIGEST_TTL_DAYS * 86400)}
        self._batch_write([{**pk_sk(f"DIGEST#{day}", sk), "at": {"N": repr(at)}, TTL_ATTRIBUTE: expires}
                           for sk in digest_key_items(items)])

    def hour_counts(self, days: Sequence[str], hour: str) -> dict[str, dict[str, int] | None]:
        """Per UTC day: the mentions counted in its UTC hour ``hour`` ("HH") per rule group, or
        None when nothing at all was counted that day. For spikes, every cycle that counts: one
        Query of the hour's four slots a day, and one of the day's first item (``Limit`` 1) only
        when that hour has none, instead of a whole day's slots."""
        result: dict[str, dict[str, int] | None] = {}
        for day in dict.fromkeys(days):
            pk = {":pk": {"S": f"DIGEST#{day}"}}
            items = self._query("pk = :pk AND sk BETWEEN :first AND :last",
                                {**pk, ":first": {"S": f"D#{hour}00"}, ":last": {"S": f"D#{hour}59"}})
            if not items:
                items = self._query("pk = :pk AND sk BETWEEN :first AND :last",
                                    {**pk, ":first": {"S": LEGACY_SK}, ":last": {"S": "D$"}}, limit=1)
            result[day] = hour_groups(hour, {i["sk"]["S"]: _numbers(i) for i in items}) if items else None
        return result

    def digest_days(self, days: Sequence[str], *, keys: bool | Collection[str] = True) -> dict[str, DigestDay]:
        """The digest records of these UTC days (a day with nothing stored is empty): the sum
        of its slots, each slot, and the opportunity and question keys in the order they were
        stored with when (``keys``: of every day, or of the days named). One paged Query a day
        (its slots, and its keys when asked: they sort between them)."""
        result = {}
        for day in dict.fromkeys(days):
            wanted = keys is True or (not isinstance(keys, bool) and day in keys)
            items = self._query("pk = :pk AND sk BETWEEN :first AND :last",
                                {":pk": {"S": f"DIGEST#{day}"}, ":first": {"S": LEGACY_SK},
                                 ":last": {"S": "Q$" if wanted else "D$"}})
            result[day] = digest_day_from(day, {i["sk"]["S"]: _numbers(i) for i in items
                                                if i["sk"]["S"].startswith(LEGACY_SK)})
            if result[day].counts:
                with_keys(result[day], {i["sk"]["S"]: float(i["at"]["N"]) for i in items
                                         if i["sk"]["S"].startswith(("O#", "Q#"))})
        return result
