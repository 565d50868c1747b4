"""SMS alerts for urgent mentions through SNS (Transactional): one message per recipient
per alert, at most 160 GSM-7 characters (70 when the text needs UCS-2), whose one link is
the service's short link."""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.alerts import AlertBundle, DeliveryFailed, network_name, send_failure
from chalicelib.text import one_line, stars

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # each takes two septets
PERMANENT_SNS_ERRORS = {"InvalidParameter", "InvalidParameterValue", "OptedOut", "AuthorizationError"}
ACCESS_DENIED = {"AuthorizationError", "AccessDenied", "AccessDeniedException"}  # SNS says AuthorizationError


def gsm7_length(text: str) -> int | None:
    """Septets the text needs in GSM-7, or None if it needs UCS-2."""
    length = 0
    for char in text:
        if char in GSM7:
            length += 1
        elif char in GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def fits_one_sms(text: str) -> bool:
    septets = gsm7_length(text)
    return septets <= 160 if septets is not None else len(text.encode("utf-16-le")) // 2 <= 70


# What a phone would turn into a link: a scheme's URL, www., an e-mail address or a bare domain (with its path).
_LINKLIKE = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.-]*://|\b(?:mailto|tel|sms|javascript|data|intent):|\bwww\.)\S*"
    r"|\S*@\S*\.\S*"
    r"|\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}\b(?::[0-9]+)?(?:/\S*)?"
)


def without_links(text: str) -> str:
    """The text with everything a phone would make a link replaced by ``[link]``: an SMS carries
    only the service's own short link, never one a stranger wrote."""
    return _LINKLIKE.sub("[link]", text)


def compose(bundle: AlertBundle, link: str) -> str:
    """The SMS text: what, where, a short excerpt, the link; cut to fit one SMS. The last SMS
    an hourly cap allows says so."""
    first = bundle.items[0].mention.item.mention
    more = f" (+{bundle.total - 1} more)" if bundle.total > 1 else ""
    if bundle.last_sms_this_hour:
        more += " [last SMS this hour; more by email]"
    rated = f" {stars(first.rating, plain=True)}" if first.rating else ""  # "1/5 stars": GSM-7, unlike "★"
    head = f"URGENT {network_name(first.network)}{rated}{more}: "
    tail = f" {link}" if link else ""
    words = without_links(one_line(first.title or first.text, 400).removesuffix("…"))
    for cut in range(len(words), -1, -1):
        # "..." not "…": the ellipsis is not GSM-7 and would halve the room (UCS-2)
        snippet = words if cut == len(words) else words[: max(0, cut - 3)].rstrip() + "..."
        text = f"{head}\"{snippet}\"{tail}" if cut else f"{head.rstrip(': ')}{tail}"
        if fits_one_sms(text):
            return text
    return text


class SmsChannel:
    """Sends urgent bundles by SNS SMS to the recipient's phone."""

    name = "sms"

    def __init__(self, client: Any, *, sender_id: str | None = None, origination_number: str | None = None) -> None:
        self.client = client
        self.sender_id = sender_id
        self.origination_number = origination_number  # a two-way number: replies to it reach InboundSms

    def send(self, bundle: AlertBundle) -> str:
        phone = bundle.recipient.phone
        if not phone:
            raise DeliveryFailed(f"recipient {bundle.recipient.name} has no phone number", permanent=True)
        return self.send_text(phone, compose(bundle, bundle.short_link))

    def send_text(self, phone: str, text: str) -> str:
        """Send one SMS (an alert, or an answer to an SMS command); the provider's id."""
        try:
            opted_out = self.client.check_if_phone_number_is_opted_out(phoneNumber=phone)["isOptedOut"]
        except ClientError as err:
            code = err.response["Error"]["Code"]
            if code in ACCESS_DENIED:  # retrying cannot help: the role lacks the permission
                raise DeliveryFailed(f"SNS refused to check the opt-out list ({code}): the function's role needs "
                                     "sns:CheckIfPhoneNumberIsOptedOut; permanent, not retried",
                                     permanent=True) from None
            raise DeliveryFailed(f"SNS could not check the opt-out list ({code})", permanent=False) from None
        except BotoCoreError as err:
            raise DeliveryFailed(f"SNS could not check the opt-out list ({type(err).__name__})",
                                 permanent=False) from None
        if opted_out:
            raise DeliveryFailed("the phone number opted out of SMS (replied STOP)", permanent=True)
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        if self.origination_number:
            attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String",
                                                          "StringValue": self.origination_number}
        try:
            response = self.client.publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as err:
            raise send_failure(err, "SNS", "SMS", PERMANENT_SNS_ERRORS) from None
        return str(response["MessageId"])
