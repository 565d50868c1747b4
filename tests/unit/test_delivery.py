"""The delivery path's rules without the stack (issue 13): what is stored of a long mention, how
candidates split into alert jobs, which provider errors are unconfirmed, retried or failed, and
the SES/SNS clients' single attempt. The same rules on the stack: tests/faults/."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from chalicelib.alerts import AlertBundle, DeliveryFailed
from chalicelib.alerts.delivery import send_claimed
from chalicelib.alerts.email import EmailChannel, subject_for
from chalicelib.alerts.sms import SmsChannel
from chalicelib.model import Delivery, MatchedMention, Mention, RuleMatch
from chalicelib.pipeline import MAX_JOB_KEY_BYTES, job_chunks
from chalicelib.runtime import send_client_config
from chalicelib.store import MAX_STORED_TEXT, MAX_STORED_TITLE, capped
from tests.unit.test_email import MARIA, item

WHEN = dt.datetime(2026, 11, 27, 14, 30, tzinfo=dt.UTC)


def matched(native_id: str, text: str, title: str = "", spans: tuple[tuple[int, int], ...] = ()) -> MatchedMention:
    return MatchedMention(Mention("mastodon", native_id, "https://social.example/1", text, WHEN, title=title),
                          (RuleMatch("brand", "brand", False, spans),))


def test_a_long_mention_is_stored_cut_with_its_spans_moved_past_a_shorter_title() -> None:
    title = "T" * 600 + " Bean There"
    text = "Bean There " + "x" * 30_000 + " Bean There"
    body = len(title) + 2
    spans = ((601, 611), (body, body + 10), (body + 30_011, body + 30_021))  # in the title, body start, body end
    stored = capped(matched("1", text, title, spans))
    mention = stored.mention
    assert (len(mention.title), len(mention.text)) == (MAX_STORED_TITLE, MAX_STORED_TEXT)
    new_body = MAX_STORED_TITLE + 2
    assert stored.matches[0].spans == ((new_body, new_body + 10),)  # the title's match is cut off; the end's too
    assert mention.searchable_text[new_body:new_body + 10] == "Bean There"
    short = matched("2", "Bean There", spans=((0, 10),))
    assert capped(short) is short


def test_candidates_split_into_jobs_by_count_and_by_bytes_of_keys() -> None:
    long_keys = [matched(f"https://social.example/users/someone-with-a-long-name/statuses/{n:020d}", "x")
                 for n in range(5000)]
    chunks = job_chunks(long_keys)
    assert len(long_keys[0].mention.key) == 92
    assert [len(c) for c in chunks] == [2083, 2083, 834]  # 200,000 bytes // (92 + 4) a job
    assert all(sum(len(m.mention.key) + 4 for m in c) <= MAX_JOB_KEY_BYTES for c in chunks)
    assert [m for c in chunks for m in c] == long_keys
    assert [len(c) for c in job_chunks([matched(str(n), "x") for n in range(12_000)])] == [5000, 5000, 2000]
    assert job_chunks([]) == []


class Refusing:
    """An SES or SNS client whose send raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def send_email(self, **_: Any) -> dict[str, str]:
        raise self.error

    def check_if_phone_number_is_opted_out(self, **_: Any) -> dict[str, bool]:
        return {"isOptedOut": False}

    def publish(self, **_: Any) -> dict[str, str]:
        raise self.error


def refusal(error: Exception, channel: str) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as raised:
        if channel == "email":
            EmailChannel(Refusing(error), business="Bean There", from_address="a@b.example").send(
                AlertBundle(MARIA, (item("Bean There"),), 1))
        else:
            SmsChannel(Refusing(error)).send_text("+351912345678", "hello")
    return raised.value


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_no_answer_after_the_request_went_out_is_unconfirmed_and_a_refusal_is_retried(channel: str) -> None:
    timeout = refusal(ReadTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com"), channel)
    assert (timeout.ambiguous, timeout.permanent) == (True, False)
    unreachable = refusal(ConnectTimeoutError(endpoint_url="https://email.eu-west-1.amazonaws.com"), channel)
    assert (unreachable.ambiguous, unreachable.permanent) == (False, False)
    throttled = refusal(ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Send"), channel)
    assert (throttled.ambiguous, throttled.permanent) == (False, False)


def test_the_ses_and_sns_clients_make_one_attempt_in_all() -> None:
    import boto3

    client = boto3.client("sesv2", region_name="eu-west-1", config=send_client_config(),
                          aws_access_key_id="x", aws_secret_access_key="x")
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


class Records:
    """The store's delivery writes, remembered."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def finish_delivery(self, job_id: str, recipient: str, channel: str, status: str, **kwargs: Any) -> None:
        self.calls.append(("finish", status, kwargs.get("detail")))

    def finish_retry(self, delivery: Delivery, attempts: int, status: str, **kwargs: Any) -> bool:
        self.calls.append(("finish_retry", status, attempts))
        return True

    def retry_delivery_later(self, job_id: str, recipient: str, channel: str, **kwargs: Any) -> bool:
        self.calls.append(("retry", kwargs["attempts"], kwargs["retry_at"]))
        return True


def failing(err: DeliveryFailed) -> Any:
    def send() -> str:
        raise err
    return send


def test_each_outcome_is_recorded_by_the_one_delivery_path() -> None:
    def run(send: Any, **kwargs: Any) -> tuple[tuple[str, str | None], list[Any]]:
        records = Records()
        return send_claimed(records, "job", "Maria", "email", send, clock=lambda: 1000.0, **kwargs), records.calls

    assert run(lambda: "msg-1") == (("sent", "msg-1"), [("finish", "sent", None)])
    transient = DeliveryFailed("SES refused the email (Throttling)", permanent=False)
    assert run(failing(transient)) == (("retry", str(transient)), [("retry", 1, 1120.0)])
    assert run(failing(transient), retry_later=False) == (
        ("failed", str(transient)), [("finish", "failed", str(transient))])
    fourth = Delivery("job", "Maria", "email", "sending", attempts=4)
    assert run(failing(transient), retry=fourth)[1] == [("finish_retry", "failed", 4)]
    unanswered = DeliveryFailed("SES did not answer (ReadTimeoutError)", permanent=False, ambiguous=True)
    detail = "SES did not answer (ReadTimeoutError): it may have been sent, so it is not sent again"
    assert run(failing(unanswered)) == (("unconfirmed", detail), [("finish", "unconfirmed", detail)])
    rejected = DeliveryFailed("SES refused the email (MessageRejected)", permanent=True)
    assert run(failing(rejected))[1] == [("finish", "failed", str(rejected))]


def test_the_subject_counts_every_urgent_mention_of_the_bundle() -> None:
    shown = tuple(item(f"Bean There refund {n}", urgent=True) for n in range(20))
    assert subject_for(AlertBundle(MARIA, shown, 50, urgent_total=50), "Bean There").startswith(
        "URGENT (50): 50 new mentions")
    assert subject_for(AlertBundle(MARIA, shown, 50), "Bean There").startswith("URGENT (20): 50 new mentions")
