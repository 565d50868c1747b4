"""The web pages and the SMS commands do an action through the same module, so they write the
same things, as done by the same recipient (they once drifted: an author muted by SMS was
recorded as muted by "sms")."""

from __future__ import annotations

import pytest

from chalicelib.links import TokenSigner
from chalicelib.sms_commands import InboundSms, handle
from chalicelib.web.service import ActionService
from tests.builders import RecordingStore
from tests.unit.actions.fakes import CONFIG, KEY, NOW, recording, stored_mention

ANA_PHONE = "+351965550100"
CODE = "Ab3dE5gH"


def mention() -> object:
    return stored_mention("github", "5000001", thread={"repo": "beanthere/shop", "number": "12"})


def by_web(action: str, form: bytes) -> RecordingStore:
    stored = mention()
    store = recording(stored)  # type: ignore[arg-type]
    signer = TokenSigner(KEY, clock=lambda: NOW)
    page = ActionService(CONFIG, store, signer).perform(signer.sign(stored.key, action, "Ana"), form=form)  # type: ignore[arg-type]
    assert page.status == 200, page.body
    return store


def by_sms(body: str) -> RecordingStore:
    stored = mention()
    store = recording(stored)  # type: ignore[arg-type]
    signer = TokenSigner(KEY, clock=lambda: NOW)
    store.put_short_link(CODE, signer.sign(stored.key, "handled", "Ana"), int(NOW) + 86400)
    outcome = handle(InboundSms(ANA_PHONE, "+12065550142", "", body.format(code=CODE), "in-1"), config=CONFIG,
                     store=store, signer=signer, clock=store.clock)  # type: ignore[arg-type]
    assert outcome.answer is not None and not outcome.done.startswith(("refused", "nothing")), outcome
    return store


@pytest.mark.parametrize(("action", "form", "sms", "written"), [
    ("handled", b"", "OK {code}", ("set_mention_state", "github#5000001", "handled")),
    ("snooze", b"for=1d", "SNOOZE {code} 1d", ("snooze", "github#5000001", int(NOW) + 86400)),
    ("mute_author", b"", "MUTE {code}", ("mute_author", "github", "grumpy_dev", "Ana")),
    ("mute_thread", b"", "MUTE {code} THREAD", ("mute_thread", "github:beanthere/shop#12", "Ana")),
])
def test_an_action_by_link_and_by_sms_writes_the_same_as_done_by_the_recipient(
        action: str, form: bytes, sms: str, written: tuple[object, ...]) -> None:
    web, phone = by_web(action, form), by_sms(sms)
    assert web.writes == phone.writes == [written]
    audits = [[(e["action"], e["recipient"]) for e in store.audit_log("github#5000001")] for store in (web, phone)]
    assert audits == [[(action, "Ana")]] * 2
