"""What the service learns from the owner's clicks: the feedback model, and the mentions it held back.

Items:
- ``LEARN`` / ``MODEL``: the business's ``FeedbackModel`` as JSON (``model``, at most 40,000 bytes:
  ``chalicelib.triage.learn``) and ``version``, a number each write raises by one. A write is
  conditioned on the version it read, so of two clicks at once one fails its condition, reads
  again and retries (``chalicelib.triage.feedback``): neither is lost. One deployment serves one
  business (listen.yaml's ``business``), so there is one model item.
- ``HELD#<day>`` / ``<mention key>``: a mention the model held back from alerting that day, with
  the model's reason (untrusted words of the mention: escaped on output); the mention's own state
  is ``held``. The digest lists them (``held_back``); they expire with the mentions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from chalicelib.model import MatchedMention, matched_to_dict
from chalicelib.store.inbox import facets_of
from chalicelib.store.mentions import MENTION_TTL_DAYS, mention_pk
from chalicelib.store.table import Table, pk_sk
from chalicelib.table import TTL_ATTRIBUTE

MODEL_KEY = ("LEARN", "MODEL")


class Learning(Table):
    _with_sort_key: Callable[..., bool]  # the Mentions aggregate's

    def feedback_model(self) -> tuple[str, int] | None:
        """The stored feedback model (JSON) and its version; None before the first click."""
        item = self._call("get_item", TableName=self.table, Key=pk_sk(*MODEL_KEY), ConsistentRead=True).get("Item")
        if not item:
            return None
        return item["model"]["S"], int(item["version"]["N"])

    def save_feedback_model(self, model: str, version: int) -> bool:
        """Store ``model`` as version ``version + 1`` if the stored one is still ``version`` (0:
        none stored yet); False if another write came first (read again and retry)."""
        condition = ({"ConditionExpression": "attribute_not_exists(pk)"} if version == 0 else {
            "ConditionExpression": "version = :read", "ExpressionAttributeValues": {":read": {"N": str(version)}}})
        return self._conditional("put_item", Item={
            **pk_sk(*MODEL_KEY), "model": {"S": model}, "version": {"N": str(version + 1)}}, **condition)

    def relabel_mention(self, item: MatchedMention) -> bool:
        """Store the mention's triage as the owner corrected it (its intents, and the priority
        recomputed from them); False if the mention is no longer stored."""
        facets = facets_of(item)
        return self._with_sort_key(item.mention.key, lambda sets, guard, values: self._conditional(
            "update_item", Key=pk_sk(mention_pk(item.mention.key), "M"),
            UpdateExpression=f"SET #data = :data, facets = :facets{sets}",
            ConditionExpression=f"attribute_exists(pk) AND {guard}",
            ExpressionAttributeNames={"#data": "data", "#state": "state"},
            ExpressionAttributeValues={":data": {"S": json.dumps(matched_to_dict(item), separators=(",", ":"))},
                                       ":facets": {"S": facets}, **values}), facets=facets)

    def hold_mention(self, key: str, day: str, reason: str) -> bool:
        """Hold a stored mention back from alerting: listed in ``day``'s digest with ``reason``,
        its state ``held``. The record is written first, so a mention whose state says held is
        always listed. False if the mention is no longer stored or no longer ``new``/``held``."""
        expires = int(self.clock()) + MENTION_TTL_DAYS * 86400
        self._call("put_item", TableName=self.table, Item={
            **pk_sk(f"HELD#{day}", key), "reason": {"S": reason}, TTL_ATTRIBUTE: {"N": str(expires)}})
        return self._with_sort_key(key, lambda sets, guard, values: self._conditional(
            "update_item", Key=pk_sk(mention_pk(key), "M"), UpdateExpression=f"SET #state = :held{sets}",
            ConditionExpression=f"attribute_exists(pk) AND #state IN (:new, :held) AND {guard}",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":held": {"S": "held"}, ":new": {"S": "new"}, **values}), state="held")

    def held_back(self, days: Sequence[str]) -> dict[str, str]:
        """Mention key -> reason, of the mentions held back on ``days`` (in day, then key order)."""
        return {item["sk"]["S"]: item["reason"]["S"] for day in days
                for item in self._query("pk = :pk", {":pk": {"S": f"HELD#{day}"}})}
