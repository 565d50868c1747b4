"""Hook Net's webhook parser: Meta's ``comments`` change shape (see the package docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.model import Mention
from chalicelib.sources.base import BadPayload, Source
from tests.webhook_net.source import comment_mention


def parse(payload: Mapping[str, Any], source: Source | None) -> list[Mention]:
    if payload.get("object") != "hooknet" or not isinstance(payload.get("entry"), list):
        raise BadPayload("hooknet", "a delivery without object 'hooknet' and a list of entries")
    mentions = []
    for entry in payload["entry"]:
        for change in entry.get("changes", []):
            value = change.get("value") or {}
            if change.get("field") != "comments" or not isinstance(value.get("id"), str):
                raise BadPayload("hooknet", f"an unknown change {str(change.get('field'))[:40]!r}")
            mentions.append(comment_mention(value["id"], str(value.get("text", "")),
                                            str((value.get("from") or {}).get("username", "")),
                                            entry.get("time"), str((value.get("media") or {}).get("id", ""))))
    return mentions
