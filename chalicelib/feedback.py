"""SES feedback: a permanent bounce or a complaint suppresses the address, so no alert or
digest is sent to it again (SES would otherwise count it against the account)."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class SuppressionStore(Protocol):
    def suppress(self, address: str, reason: str) -> None: ...


def suppressions(message: str | dict[str, Any]) -> list[tuple[str, str]]:
    """(address, reason) pairs a notification asks to suppress; [] for anything else.

    Accepts both forms SES publishes: identity notifications (``notificationType``) and
    configuration-set event publishing (``eventType``). Transient bounces suppress nothing.
    """
    try:
        data = json.loads(message) if isinstance(message, str) else message
    except ValueError:
        log.warning("SES feedback that is not JSON ignored")
        return []
    if not isinstance(data, dict):
        return []
    kind = data.get("notificationType") or data.get("eventType")
    if kind == "Bounce" and isinstance(data.get("bounce"), dict):
        bounce = data["bounce"]
        if bounce.get("bounceType") != "Permanent":
            return []
        return [(a, "bounced") for a in _addresses(bounce.get("bouncedRecipients"))]
    if kind == "Complaint" and isinstance(data.get("complaint"), dict):
        return [(a, "complained") for a in _addresses(data["complaint"].get("complainedRecipients"))]
    return []


def _addresses(recipients: Any) -> list[str]:
    if not isinstance(recipients, list):
        return []
    return [r["emailAddress"] for r in recipients
            if isinstance(r, dict) and isinstance(r.get("emailAddress"), str) and "@" in r["emailAddress"]
            and len(r["emailAddress"]) <= 320]


def handle_sns_event(event: dict[str, Any], store: SuppressionStore) -> list[tuple[str, str]]:
    """Suppress what every SNS record of a Lambda event asks for; what was suppressed."""
    done = []
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        sns = record.get("Sns", {}) if isinstance(record, dict) else {}
        for address, reason in suppressions(sns.get("Message", "")):
            store.suppress(address, reason)
            done.append((address, reason))
            log.info("suppressed an address: %s", reason)  # the address itself stays out of the logs
    return done
