"""assign: the mention given to another recipient by the actor, and the assignee emailed once."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from chalicelib.actions.assign import assign, assignees
from chalicelib.actions.common import GONE
from chalicelib.alerts import DeliveryFailed
from chalicelib.links import TokenSigner
from tests.builders import RecordingStore
from tests.unit.actions.fakes import CONFIG, KEY, NOW, recipient, recording, stored_mention

RUI, ANA, MARIA = recipient("Rui"), recipient("Ana"), recipient("Maria")


class Mailer:
    """The EmailChannel's face: sends by remembering, or raises ``fail``."""

    business, from_address, reply_to = "Bean There Café", "alerts@beanthere.example", None

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.sent: list[tuple[EmailMessage, str]] = []

    def send_message(self, message: EmailMessage, to: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append((message, to))
        return f"ses-{len(self.sent)}"


def give(store: RecordingStore, mailer: Mailer | None, to: object = MARIA, job: str = "assign-n1", actor: object = ANA):
    stored = stored_mention()
    return assign(stored, actor, to=to, job=job, config=CONFIG, store=store,  # type: ignore[arg-type]
                  signer=TokenSigner(KEY, clock=lambda: NOW), mailer=mailer, clock=lambda: NOW)


def statuses(store: RecordingStore, job: str) -> dict[tuple[str, str], str]:
    """Each delivery of ``job``: (recipient, channel) -> status."""
    return {(d.recipient, d.channel): d.status for d in store.deliveries(job)}


def test_assignees_are_everyone_else_with_an_email_address() -> None:
    assert [r.name for r in assignees(CONFIG, "Ana")] == ["Maria"]
    assert [r.name for r in assignees(CONFIG, "Rui")] == ["Ana", "Maria"]


def test_assign_records_who_gave_it_and_emails_the_assignee_with_their_own_links() -> None:
    store, mailer = recording(stored_mention()), Mailer()
    outcome = give(store, mailer)
    assert (outcome.status, outcome.said) == ("done", "assigned to Maria; emailed")
    assert outcome.detail == "Maria gets an email with the mention and their own links."
    assert store.writes == [("assign_mention", "hackernews#4242", "Maria", "Ana")]
    ((message, to),) = mailer.sent
    assert to == "maria@beanthere.example"
    assert message["Subject"] == "Ana assigned you a mention on Hacker News: Bean There was rude"
    assert message["Reply-To"] == "ana@beanthere.example"  # the assigner's address
    assert statuses(store, "assign-n1") == {("Maria", "email"): "sent"}


def test_the_same_job_emails_once() -> None:
    store, mailer = recording(stored_mention()), Mailer()
    give(store, mailer)
    again = give(store, mailer)
    assert (again.said, again.detail) == ("assigned to Maria; emailed before", "Maria was emailed before.")
    assert len(mailer.sent) == 1


def test_a_suppressed_address_is_not_emailed_and_the_assigner_is_told() -> None:
    store, mailer = recording(stored_mention()), Mailer()
    store.suppress("maria@beanthere.example", "bounced")
    outcome = give(store, mailer)
    assert outcome.said == "assigned to Maria; address suppressed" and mailer.sent == []


def test_without_a_mailer_the_assignment_is_recorded_and_not_emailed() -> None:
    store = recording(stored_mention())
    outcome = give(store, None)
    assert (outcome.status, outcome.said) == ("done", "assigned to Maria; no email")
    assert store.writes == [("assign_mention", "hackernews#4242", "Maria", "Ana")]


@pytest.mark.parametrize(("error", "said", "status"), [
    (DeliveryFailed("SES refused the email (MessageRejected)", permanent=True), "assigned to Maria; email failed",
     "failed"),
    (DeliveryFailed("no answer", permanent=False, ambiguous=True), "assigned to Maria; email unconfirmed",
     "unconfirmed"),
])
def test_a_failed_email_is_said_and_recorded_not_retried(error: DeliveryFailed, said: str, status: str) -> None:
    store = recording(stored_mention())
    outcome = give(store, Mailer(fail=error))
    assert outcome.said == said
    assert statuses(store, "assign-n1") == {("Maria", "email"): status}


def test_assign_of_a_mention_no_longer_stored_is_gone_and_emails_no_one() -> None:
    mailer = Mailer()
    assert give(recording(), mailer) == GONE and mailer.sent == []
