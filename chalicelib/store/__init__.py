"""The DynamoDB repository: the only package that knows the table's keys.

``Store`` is the one entry point: the aggregates (``mentions``, ``deliveries``, ``poll_state``,
``counters``, ``lists``), each a module over the one table helper (``table``), joined in one
class. ``chalicelib.store.memory.MemoryStore`` is its in-memory twin behind the same
``StoreProtocol`` (for tests: not imported here, so a Lambda never loads it), kept honest by one
behaviour suite run on both (tests/integration/test_store_twin.py).

Items (pk / sk), by aggregate (each module's docstring has the details):
- mentions      ``M#<network>#<id>`` / ``M``; audit ``M#…`` / ``A#<at>#<nonce>``; ``SNOOZED``, ``REPLIES``
- deliveries    ``JOB#<id>`` / ``JOB`` (open: index ``OPENJOB``); ``JOB#<id>`` / ``D#<recipient>#<channel>``
                (index ``RETRY`` while claimed or waiting, ``UNDELIVERED`` once failed or unconfirmed);
                ``NONCE#<nonce>`` / ``N``; ``SHORT#<code>`` / ``S``
- poll state    ``TASKS`` / ``<network>#<interval>#<layout>#<bucket>`` (formerly ``NET#<network>`` / ``TASKS``),
                ``TASKS`` / ``<network>#<interval>#shared``;
                ``HEALTH`` / ``<network>``; ``STATE#<network>`` / ``<name>``
- counters      ``SMSCOUNT#`` ``SMSANSWER#`` ``SMSCOMMAND#<who>`` / ``<hour>``; ``SPIKE``; ``CAPS#<day>``;
                ``STORIES#<day>``; ``DIGEST#<UTC day>`` / ``D#<HHMM>`` (a quarter hour; ``D``: a day, before)
                with ``O#<key>``, ``Q#<key>``
- lists         ``MUTES``; ``SUPPRESS``; ``EXCLUSIONS``
- inbox         index ``inbox`` on the mention items: ``DAY#<day>`` / ``B<part>#<priority>#<time>#<key>``
                (in the inbox order; small projection); ``BACKFILL`` / ``inbox`` (indexing the mentions from before it)
- learning      ``LEARN`` / ``MODEL`` (the owner-feedback model, versioned); ``HELD#<day>`` / ``<key>``
- sessions      ``SIGNIN#<hash>`` / ``L``; ``WEBSESSION#<hash>`` / ``S``; ``WEBSESSIONS#<address>`` / ``<hash>``;
                ``SIGNINCOUNT#<who>`` / ``<window>`` (the inbox's sign-in)

Writes that decide "exactly once" are conditional: a mention is stored only if absent
(transactions of up to 100 conditional puts), so exactly one cycle's alert job owns it; the
job is recorded before the mentions, and each delivery before it is sent.
"""

from __future__ import annotations

from chalicelib.model import Delivery, DigestDay, Health, Job, StoredMention, TaskState
from chalicelib.store.backfill import InboxBackfill
from chalicelib.store.counters import DIGEST_TTL_DAYS, Counters
from chalicelib.store.deliveries import (
    CLAIM_LEASE_SECONDS,
    JOB_TTL_DAYS,
    OPEN_JOB,
    RETRY_INDEX,
    UNDELIVERED_INDEX,
    UNDELIVERED_STATUSES,
    Deliveries,
)
from chalicelib.store.inbox import Inbox, InboxEntry
from chalicelib.store.learning import Learning
from chalicelib.store.lists import Lists
from chalicelib.store.mentions import MAX_STORED_TEXT, MAX_STORED_TITLE, MENTION_TTL_DAYS, Mentions, capped, mention_pk
from chalicelib.store.poll_state import CycleStateCache, PollState
from chalicelib.store.protocol import StoreProtocol
from chalicelib.store.sessions import WebSessions
from chalicelib.store.table import (
    BATCH_GET_KEYS,
    BATCH_WRITE_ITEMS,
    PARALLEL_READS,
    READ_OPERATIONS,
    TRANSACTION_ITEMS,
    client_config,
)


class Store(Mentions, Deliveries, PollState, Counters, Lists, Learning, Inbox, WebSessions, InboxBackfill):
    """All reads and writes of the table. ``client`` is a boto3 DynamoDB client; ``table_name``
    the table; ``clock`` what items are stamped with (Unix seconds)."""


__all__ = [
    "BATCH_GET_KEYS", "BATCH_WRITE_ITEMS", "CLAIM_LEASE_SECONDS", "DIGEST_TTL_DAYS", "JOB_TTL_DAYS",
    "MAX_STORED_TEXT", "MAX_STORED_TITLE", "MENTION_TTL_DAYS", "OPEN_JOB", "PARALLEL_READS", "READ_OPERATIONS",
    "RETRY_INDEX", "TRANSACTION_ITEMS", "UNDELIVERED_INDEX", "UNDELIVERED_STATUSES", "CycleStateCache", "Delivery",
    "DigestDay", "Health", "InboxEntry", "Job", "Store", "StoreProtocol", "StoredMention", "TaskState", "capped",
    "client_config", "mention_pk",
]
