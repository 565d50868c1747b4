"""A network that answers but returns nothing: when it is told "silent", when "data again",
and never both with a failure; which period applies; what the notice says. Also which
SES/SNS errors are transient (retried later) and which are permanent."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import ValidationError

from chalicelib.alerts import DeliveryFailed
from chalicelib.alerts.email import EmailChannel
from chalicelib.alerts.notices import compose_silence_notice
from chalicelib.alerts.sms import SmsChannel
from chalicelib.config import parse_config
from chalicelib.pipeline import Pipeline, silence_change
from chalicelib.sources.base import Capabilities, SourceOptions

HOUR = 3600.0
NOW = 1_800_000_000.0


def change(*, last_data_at: float | None = None, watching_since: float | None = NOW - 2 * HOUR,
           expected_hours: float | None = 24, told: str | None = None, told_at: float | None = None,
           failing: bool = False) -> str | None:
    return silence_change(now=NOW, last_data_at=last_data_at, watching_since=watching_since,
                          expected_hours=expected_hours, told=told, told_at=told_at, failing=failing)


# --- the decision -----------------------------------------------------------------

def test_data_within_the_period_tells_nothing() -> None:
    assert change(last_data_at=NOW - 23 * HOUR, watching_since=NOW - 500 * HOUR) is None


def test_nothing_for_longer_than_the_period_is_told_silent() -> None:
    assert change(last_data_at=NOW - 25 * HOUR, watching_since=NOW - 500 * HOUR) == "silent"


def test_exactly_the_period_is_not_yet_silent() -> None:
    assert change(last_data_at=NOW - 24 * HOUR) is None


def test_a_new_installation_counts_from_its_first_successful_poll_not_from_the_epoch() -> None:
    assert change(last_data_at=None, watching_since=NOW - 2 * HOUR) is None
    assert change(last_data_at=None, watching_since=NOW - 25 * HOUR) == "silent"


def test_a_network_never_polled_successfully_tells_nothing() -> None:
    assert change(last_data_at=None, watching_since=None) is None


def test_silence_counts_from_the_later_of_last_data_and_the_watch_start() -> None:
    # data long ago, but the clock restarted after an outage two hours ago
    assert change(last_data_at=NOW - 100 * HOUR, watching_since=NOW - 2 * HOUR) is None


def test_silence_already_told_is_not_told_again() -> None:
    assert change(last_data_at=NOW - 50 * HOUR, told="silent", told_at=NOW - 20 * HOUR) is None


def test_data_after_the_silence_was_told_is_told_as_data_again() -> None:
    assert change(last_data_at=NOW, told="silent", told_at=NOW - 20 * HOUR) == "data again"


def test_data_from_before_the_silence_notice_is_not_data_again() -> None:
    assert change(last_data_at=NOW - 30 * HOUR, told="silent", told_at=NOW - 5 * HOUR) is None


def test_data_again_is_told_even_if_the_owner_turned_the_check_off_meanwhile() -> None:
    assert change(last_data_at=NOW, told="silent", told_at=NOW - HOUR, expected_hours=None) == "data again"


def test_after_data_again_a_new_long_silence_is_told_again() -> None:
    assert change(last_data_at=NOW - 30 * HOUR, watching_since=NOW - 500 * HOUR, told="data again",
                  told_at=NOW - 30 * HOUR) == "silent"


def test_a_failing_network_is_told_as_failing_only() -> None:
    assert change(last_data_at=NOW - 100 * HOUR, failing=True) is None
    assert change(last_data_at=NOW, told="silent", told_at=NOW - HOUR, failing=True) is None


@pytest.mark.parametrize("expected_hours", [None, 0, 0.0])
def test_no_period_or_zero_never_tells_silent(expected_hours: float | None) -> None:
    assert change(last_data_at=NOW - 10_000 * HOUR, expected_hours=expected_hours) is None


# --- which period applies -------------------------------------------------------------

class QuietStream:
    """A connector stand-in whose class says "something within 48 hours"."""

    name: ClassVar[str] = "hackernews"
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=False, expected_data_hours=48)


def pipeline_with(option: str) -> Pipeline:
    config = parse_config(f"""\
business: {{name: Bean There Café}}
rules: [{{name: brand, group: brand, keywords: [Bean There]}}]
networks:
  hackernews:
    base_url: http://127.0.0.1:9
{option}recipients: [{{name: Maria, email: maria@beanthere.example}}]
alerts: {{from_address: alerts@beanthere.example}}
""")
    return Pipeline(config, store=None, sources={"hackernews": QuietStream()}, matcher=None,  # type: ignore[arg-type]
                    channels={}, signer=None)  # type: ignore[arg-type]


def test_the_connectors_default_period_applies_when_the_owner_sets_none() -> None:
    assert pipeline_with("").expected_data_hours("hackernews") == 48
    assert pipeline_with("    expect_data_within_hours: null\n").expected_data_hours("hackernews") == 48


def test_the_owners_period_overrides_the_connectors() -> None:
    assert pipeline_with("    expect_data_within_hours: 6\n").expected_data_hours("hackernews") == 6


def test_zero_turns_the_silence_check_off() -> None:
    assert pipeline_with("    expect_data_within_hours: 0\n").expected_data_hours("hackernews") is None


def test_a_connector_without_a_default_is_not_checked() -> None:
    assert Capabilities(server_search=True, replies=False).expected_data_hours is None


def test_a_negative_period_is_refused() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        SourceOptions(base_url="http://127.0.0.1:9", expect_data_within_hours=-1)


# --- the notice -------------------------------------------------------------------

def notice(**kwargs: Any) -> EmailMessage:
    return compose_silence_notice(business="Bean There Café", from_address="alerts@beanthere.example",
                                  to_name="Maria", to_address="maria@beanthere.example", network="hackernews",
                                  **kwargs)


def test_the_silence_notice_names_the_network_how_long_and_what_to_check() -> None:
    message = notice(silent_seconds=3 * 86400 + 600, expected_hours=48, data_again=False)
    assert message["Subject"] == "Bean There Café listening: nothing from Hacker News for 3 days"
    assert message["To"] == "Maria <maria@beanthere.example>"
    body = message.get_content()
    assert body.startswith("Hacker News answers every poll without an error, but has returned nothing for 3 days; "
                           "usually something comes within 2 days.\n")
    assert "a token lost a permission, so searches come back empty instead of failing" in body
    assert "raise networks.hackernews.expect_data_within_hours in listen.yaml (0 turns this check off)" in body
    assert body.endswith("You will get one more email when Hacker News returns data again.\n")


def test_the_data_again_notice_says_how_long_it_was_quiet() -> None:
    message = notice(silent_seconds=30 * HOUR, expected_hours=24, data_again=True)
    assert message["Subject"] == "Bean There Café listening: Hacker News returns data again"
    assert message.get_content() == ("Hacker News returned new items again after 30 hours without any. Nothing to "
                                     "do: listening there is back to normal.\n")


def test_a_silence_of_about_an_hour_says_one_hour() -> None:
    assert notice(silent_seconds=3700, expected_hours=1, data_again=False)["Subject"] == (
        "Bean There Café listening: nothing from Hacker News for 1 hour")


# --- transient or permanent: what is retried later ---------------------------------

class Refusing:
    """A boto3 client stand-in whose sending call fails with the given error code."""

    def __init__(self, code: str | None) -> None:
        self.code = code

    def _fail(self, operation: str) -> None:
        if self.code is None:
            raise EndpointConnectionError(endpoint_url="https://email.eu-west-1.amazonaws.com")
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, operation)

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        self._fail("SendEmail")
        return {}

    def check_if_phone_number_is_opted_out(self, **kwargs: Any) -> dict[str, bool]:
        return {"isOptedOut": False}

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self._fail("Publish")
        return {}


def email_failure(code: str | None) -> DeliveryFailed:
    channel = EmailChannel(Refusing(code), business="Bean There Café", from_address="alerts@beanthere.example")
    with pytest.raises(DeliveryFailed) as caught:
        channel.send_message(EmailMessage(), "maria@beanthere.example")
    return caught.value


@pytest.mark.parametrize("code", ["TooManyRequestsException", "Throttling", "LimitExceededException",
                                  "InternalFailure", None])
def test_ses_throttling_and_outages_are_transient(code: str | None) -> None:
    failure = email_failure(code)
    assert failure.permanent is False
    assert str(failure) == (f"SES refused the email ({code})" if code else
                            "SES could not be reached (EndpointConnectionError)")


@pytest.mark.parametrize("code", ["MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException",
                                  "SendingPausedException"])
def test_ses_refusals_that_a_retry_cannot_fix_are_permanent(code: str) -> None:
    failure = email_failure(code)
    assert (failure.permanent, str(failure)) == (True, f"SES refused the email ({code})")


@pytest.mark.parametrize(("code", "permanent"), [
    ("Throttling", False), ("Throttled", False), ("InternalError", False),
    ("InvalidParameter", True), ("InvalidParameterValue", True), ("AuthorizationError", True),
])
def test_sns_throttling_is_transient_and_invalid_parameters_permanent(code: str, permanent: bool) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        SmsChannel(Refusing(code)).send_text("+351912345678", "URGENT")
    assert (caught.value.permanent, str(caught.value)) == (permanent, f"SNS refused the SMS ({code})")
