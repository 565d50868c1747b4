"""SES bounce and complaint notifications, in the shapes SES publishes them."""

from __future__ import annotations

import json

from chalicelib.feedback import handle_sns_event, suppressions
from chalicelib.store.memory import MemoryStore

PERMANENT_BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "reportingMTA": "dns; email.example.com",
               "bouncedRecipients": [{"emailAddress": "jane@example.com", "status": "5.1.1", "action": "failed",
                                      "diagnosticCode": "smtp; 550 5.1.1 <jane@example.com>... User"}],
               "timestamp": "2016-01-27T14:59:38.237Z", "feedbackId": "0000013811122",
               "remoteMtaIp": "127.0.2.0"},
    "mail": {"timestamp": "2016-01-27T14:59:38.237Z", "source": "john@example.com",
             "messageId": "0000014644fe5ef6", "destination": ["jane@example.com"]},
}
COMPLAINT_EVENT = {  # configuration-set event publishing says eventType
    "eventType": "Complaint",
    "complaint": {"complainedRecipients": [{"emailAddress": "maria@beanthere.example"}],
                  "timestamp": "2026-11-27T10:00:00.000Z", "feedbackId": "0100018c", "complaintFeedbackType": "abuse"},
    "mail": {"timestamp": "2026-11-27T09:59:00.000Z", "source": "alerts@beanthere.example"},
}


def test_a_permanent_bounce_suppresses_the_address() -> None:
    assert suppressions(json.dumps(PERMANENT_BOUNCE)) == [("jane@example.com", "bounced")]


def test_a_transient_bounce_suppresses_nothing() -> None:
    transient = {**PERMANENT_BOUNCE, "bounce": {**PERMANENT_BOUNCE["bounce"], "bounceType": "Transient"}}
    assert suppressions(transient) == []


def test_a_complaint_from_event_publishing_suppresses_the_address() -> None:
    assert suppressions(COMPLAINT_EVENT) == [("maria@beanthere.example", "complained")]


def test_deliveries_and_garbage_suppress_nothing() -> None:
    for message in ('{"notificationType": "Delivery"}', "not json", "[]", '{"eventType": "Bounce", "bounce": 5}',
                    json.dumps({"notificationType": "Complaint", "complaint": {"complainedRecipients": [{"x": 1}]}})):
        assert suppressions(message) == []


def test_every_record_of_an_sns_event_is_handled() -> None:
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(PERMANENT_BOUNCE)}},
                         {"EventSource": "aws:sns", "Sns": {"Message": json.dumps(COMPLAINT_EVENT)}}]}
    store = MemoryStore()
    assert handle_sns_event(event, store) == [("jane@example.com", "bounced"),
                                              ("maria@beanthere.example", "complained")]
    assert store.suppressed() == {"jane@example.com": "bounced", "maria@beanthere.example": "complained"}
