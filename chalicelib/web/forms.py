"""The fields of the forms the pages post: read, never trusted (a missing or foreign value is
the default, or a refusal)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from chalicelib.actions.snooze import DEFAULT_PERIOD, PERIODS
from chalicelib.actions.wrong_label import CHOICES
from chalicelib.config import ListenConfig, Recipient
from chalicelib.links import assignees

log = logging.getLogger(__name__)


def form_fields(form: bytes) -> dict[str, list[str]]:
    """The fields of an urlencoded form body (undecodable bytes replaced, blank values kept)."""
    return parse_qs(form.decode("utf-8", "replace"), keep_blank_values=True)


def snooze_period(form: bytes) -> str:
    """The snooze period the form chose (``for``: 1h, 1d or 1w); the default for anything else,
    so a form posted without a choice (an old email, a mail client's own POST) still snoozes."""
    chosen = form_fields(form).get("for") or []
    return chosen[0] if len(chosen) == 1 and chosen[0] in PERIODS else DEFAULT_PERIOD


def chosen_assignee(config: ListenConfig, holder: str, form: bytes) -> Recipient | None:
    """The recipient named by the form's ``to``, if ``holder`` may assign to them."""
    chosen = form_fields(form).get("to") or []
    allowed = {r.name: r for r in assignees(config, holder)}
    if len(chosen) != 1 or chosen[0] not in allowed:
        log.info("refused an assignment: the form named no one the holder may assign to")
        return None
    return allowed[chosen[0]]


def chosen_label(form: bytes) -> str | None:
    """What the owner says a mention is (``label``: a key of ``CHOICES``); None for anything else."""
    chosen = form_fields(form).get("label") or []
    return chosen[0] if len(chosen) == 1 and chosen[0] in CHOICES else None
