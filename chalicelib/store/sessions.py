"""The inbox's sign-in: magic-link tokens, web sessions and the sign-in form's rate-limit counters.

Items (every one with a TTL, and every read checks the expiry itself: TTL deletes lazily):
- ``SIGNIN#<token hash>`` / ``L``: a magic link (the address, the safe ``next`` path), taken once by
  a conditional delete (``take_sign_in_link``); only the SHA-256 of the token is stored.
- ``WEBSESSION#<id hash>`` / ``S``: a session (address, absolute expiry, idle expiry), read by the
  hash of the cookie's id; ``WEBSESSIONS#<address>`` / ``<id hash>``: the address's list of
  sessions, so "sign out everywhere" finds them all (one Query). The list entry is written first:
  a crash between the two writes leaves an entry that names no session, which deleting ignores.
- ``SIGNINCOUNT#<who>`` / ``<window>``: sign-in requests counted per address or IP and window.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from chalicelib.store.table import Table, pk_sk, string_of
from chalicelib.table import TTL_ATTRIBUTE

COUNTER_TTL_SECONDS = 2 * 86400  # a window's counter is kept two days


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session: whose, when it ends for good (``expires_at``) and when it ends unused
    (``idle_until``), when it was last refreshed (``seen_at``), all Unix seconds."""

    address: str
    expires_at: int
    idle_until: int
    seen_at: int


def link_key(token_hash: str) -> dict[str, dict[str, str]]:
    return pk_sk(f"SIGNIN#{token_hash}", "L")


def session_key(id_hash: str) -> dict[str, dict[str, str]]:
    return pk_sk(f"WEBSESSION#{id_hash}", "S")


def _live_link(item: dict[str, dict[str, str]] | None, now: float) -> tuple[str, str] | None:
    if not item or int(item[TTL_ATTRIBUTE]["N"]) <= now:
        return None
    return str(item["address"]["S"]), string_of(item, "next") or ""


class WebSessions(Table):
    def put_sign_in_link(self, token_hash: str, address: str, next_path: str, expires_at: int) -> None:
        """Record a magic link (by its token's hash) for ``address``, leading to ``next_path``."""
        self._call("put_item", TableName=self.table, Item={
            **link_key(token_hash), "address": {"S": address}, "next": {"S": next_path},
            TTL_ATTRIBUTE: {"N": str(expires_at)}})

    def sign_in_link(self, token_hash: str) -> tuple[str, str] | None:
        """(address, next path) of an unexpired, unused magic link; None otherwise (changes nothing)."""
        item = self._call("get_item", TableName=self.table, Key=link_key(token_hash), ConsistentRead=True).get("Item")
        return _live_link(item, self.clock())

    def take_sign_in_link(self, token_hash: str) -> tuple[str, str] | None:
        """Use a magic link once: (address, next path) and the link is gone; None if it is
        unknown, expired or was taken before (a conditional delete: two clicks, one session)."""
        now = self.clock()
        try:
            response = self._call("delete_item", TableName=self.table, Key=link_key(token_hash),
                                  ConditionExpression="attribute_exists(pk) AND #ttl > :now",
                                  ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
                                  ExpressionAttributeValues={":now": {"N": str(int(now))}}, ReturnValues="ALL_OLD")
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _live_link(response.get("Attributes"), now)

    def count_sign_in_request(self, who: str, window: str) -> int:
        """Count one more sign-in request from ``who`` (``address:<a>`` or ``ip:<ip>``) in ``window``; the count now."""
        response = self._call(
            "update_item", TableName=self.table, Key=pk_sk(f"SIGNINCOUNT#{who}", window),
            UpdateExpression="ADD requests :one SET #ttl = :ttl", ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":one": {"N": "1"}, ":ttl": {"N": str(int(self.clock()) + COUNTER_TTL_SECONDS)}},
            ReturnValues="UPDATED_NEW")
        return int(response["Attributes"]["requests"]["N"])

    def put_session(self, id_hash: str, address: str, expires_at: int, idle_until: int) -> None:
        """Record a new session of ``address`` (by its id's hash): the address's list entry, then the session."""
        now = str(int(self.clock()))
        self._call("put_item", TableName=self.table, Item={
            **pk_sk(f"WEBSESSIONS#{address}", id_hash), TTL_ATTRIBUTE: {"N": str(expires_at)}})
        self._call("put_item", TableName=self.table, Item={
            **session_key(id_hash), "address": {"S": address}, "idle_until": {"N": str(idle_until)},
            "seen_at": {"N": now}, TTL_ATTRIBUTE: {"N": str(expires_at)}})

    def get_session(self, id_hash: str) -> SessionRecord | None:
        """The session with this id hash, unless it is unknown, revoked or expired (either expiry)."""
        item = self._call("get_item", TableName=self.table, Key=session_key(id_hash), ConsistentRead=True).get("Item")
        if not item:
            return None
        record = SessionRecord(str(item["address"]["S"]), int(item[TTL_ATTRIBUTE]["N"]),
                               int(item["idle_until"]["N"]), int(item["seen_at"]["N"]))
        now = self.clock()
        return record if record.expires_at > now and record.idle_until > now else None

    def touch_session(self, id_hash: str, idle_until: int) -> bool:
        """Push a live session's idle expiry to ``idle_until``; False if it is gone (revoked meanwhile)."""
        return self._conditional(
            "update_item", Key=session_key(id_hash), UpdateExpression="SET idle_until = :idle, seen_at = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":idle": {"N": str(idle_until)}, ":now": {"N": str(int(self.clock()))}})

    def delete_session(self, id_hash: str, address: str) -> None:
        """Revoke one session of ``address`` (nothing if it is gone already): the session, then its list entry."""
        self._call("delete_item", TableName=self.table, Key=session_key(id_hash))
        self._call("delete_item", TableName=self.table, Key=pk_sk(f"WEBSESSIONS#{address}", id_hash))

    def delete_sessions(self, address: str) -> int:
        """Revoke every session of ``address`` (one Query, two DeleteItems a session: an address has a
        few, one per device); how many the address's list named."""
        listed = [item["sk"]["S"] for item in self._query("pk = :pk", {":pk": {"S": f"WEBSESSIONS#{address}"}})]
        for id_hash in listed:
            self.delete_session(id_hash, address)
        return len(listed)
