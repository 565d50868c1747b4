"""SMS text: one message, GSM-7 when possible, the link always whole."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.alerts import AlertBundle, AlertItem, DeliveryFailed
from chalicelib.alerts.sms import SmsChannel, compose, fits_one_sms, gsm7_length
from chalicelib.config import Recipient
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention

LINK = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/api/s/Ab3dE5gH"


def bundle(text: str, total: int = 1) -> AlertBundle:
    mention = Mention("hackernews", "1", "https://news.ycombinator.com/item?id=1", text,
                      dt.datetime(2026, 11, 27, tzinfo=dt.UTC), kind="comment")
    stored = StoredMention(MatchedMention(mention, (RuleMatch("complaints", "brand", True),)), "new", "now")
    return AlertBundle(Recipient(name="Maria", phone="+351912345678"), (AlertItem(stored),), total, LINK)


def test_gsm7_length_counts_extended_characters_twice() -> None:
    assert gsm7_length("Café {ok}") == 11
    assert gsm7_length("emoji 😀") is None


def test_short_text_is_sent_whole() -> None:
    assert compose(bundle("Bean There was rude to me"), LINK) == (
        f'URGENT Hacker News: "Bean There was rude to me" {LINK}')


def test_long_gsm7_text_is_cut_to_160_characters_with_the_link_whole() -> None:
    text = compose(bundle("Bean There Café served me cold coffee and " * 10), LINK)
    assert text == f'URGENT Hacker News: "Bean There Café served me cold coffee and Bean There Café served..." {LINK}'
    assert gsm7_length(text) == 159  # one more character would cut inside a word's trailing space


def test_text_needing_ucs2_is_cut_to_70_characters() -> None:
    text = compose(bundle("Bean There 😡 " * 20), "https://x.example/s/Ab3dE5gH")
    assert gsm7_length(text) is None
    assert len(text.encode("utf-16-le")) // 2 <= 70 and fits_one_sms(text)
    assert text.endswith('..." https://x.example/s/Ab3dE5gH')


def test_more_mentions_are_counted() -> None:
    assert compose(bundle("rude staff", total=3), LINK) == f'URGENT Hacker News (+2 more): "rude staff" {LINK}'


def test_control_and_direction_characters_are_removed() -> None:
    assert compose(bundle("evil\u202etxt\u2067exe\nline"), LINK) == f'URGENT Hacker News: "evil txt exe line" {LINK}'


def test_the_last_sms_an_hourly_cap_allows_says_so() -> None:
    from dataclasses import replace

    capped = replace(bundle("rude staff", total=2), last_sms_this_hour=True)
    assert compose(capped, LINK) == (
        f'URGENT Hacker News (+1 more) [last SMS this hour; more by email]: "rude staff" {LINK}')


@pytest.mark.parametrize("code", ["AuthorizationError", "AccessDenied"])
def test_a_role_denied_the_opt_out_check_is_a_permanent_failure_said_in_words(code: str) -> None:
    client = boto3.client("sns", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("check_if_phone_number_is_opted_out", service_error_code=code, http_status_code=403,
                              expected_params={"phoneNumber": "+351912345678"})
        with pytest.raises(DeliveryFailed) as failed:
            SmsChannel(client).send_text("+351912345678", "hello")
        stub.assert_no_pending_responses()  # nothing was published
    assert failed.value.permanent is True
    assert str(failed.value) == (f"SNS refused to check the opt-out list ({code}): the function's role needs "
                                 "sns:CheckIfPhoneNumberIsOptedOut; permanent, not retried")


def test_a_throttled_opt_out_check_stays_transient() -> None:
    client = boto3.client("sns", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("check_if_phone_number_is_opted_out", service_error_code="Throttling",
                              http_status_code=400)
        with pytest.raises(DeliveryFailed) as failed:
            SmsChannel(client).send_text("+351912345678", "hello")
    assert failed.value.permanent is False
    assert str(failed.value) == "SNS could not check the opt-out list (Throttling)"


def test_sms_go_out_from_the_two_way_number_when_there_is_one() -> None:
    client = boto3.client("sns", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("check_if_phone_number_is_opted_out", {"isOptedOut": False},
                          {"phoneNumber": "+12065550123"})
        stub.add_response("publish", {"MessageId": "m-1"}, {
            "PhoneNumber": "+12065550123", "Message": "hello", "MessageAttributes": {
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.MM.SMS.OriginationNumber": {"DataType": "String", "StringValue": "+12065550100"}}})
        assert SmsChannel(client, origination_number="+12065550100").send_text("+12065550123", "hello") == "m-1"
        stub.assert_no_pending_responses()


def test_the_only_link_in_the_sms_is_the_services_short_link() -> None:
    text = compose(bundle("Bean There refunds at https://evil.example/x?y=1, www.evil.example, "
                          "bean-there-refunds.example/claim, javascript:alert(1), help@evil.example"), LINK)
    assert text == (f'URGENT Hacker News: "Bean There refunds at [link] [link] [link] [link] [link]" {LINK}')


def test_words_with_dots_that_are_no_domain_stay() -> None:
    assert compose(bundle("Bean There v2.0 is rude... really. 3.5 stars"), LINK) == (
        f'URGENT Hacker News: "Bean There v2.0 is rude... really. 3.5 stars" {LINK}')
