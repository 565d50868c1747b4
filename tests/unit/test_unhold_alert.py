"""Issue 15 (a): "That's wrong" on a held-back mention sends the alert it would have had, through
the cycle's one delivery path, exactly once however many times it is clicked; on MemoryStore with
the feedback model trained to hold it."""

from __future__ import annotations

from chalicelib.actions.unhold import unhold
from chalicelib.cycle.context import Cycle, CycleReport
from chalicelib.cycle.send import deliver
from chalicelib.cycle.snoozes import alert_ended_snoozes
from chalicelib.links import TokenSigner
from chalicelib.store.memory import MemoryStore
from chalicelib.triage.feedback import ModelCache, load_model
from tests.builders import Outbox
from tests.unit.test_cycle_learning import CONFIG, NOW, stored, trained
from tests.unit.triage.test_learn import matched


def run(store: MemoryStore, outbox: Outbox) -> Cycle:
    return Cycle(CONFIG, store, {}, {"email": outbox}, TokenSigner(b"k" * 32), NOW.timestamp, CycleReport(), 120.0,
                 ModelCache(store))


def test_that_s_wrong_alerts_the_held_mention_once_even_when_clicked_twice_at_once() -> None:
    store, outbox = MemoryStore(clock=NOW.timestamp), Outbox("email")
    trained(store)
    [noise] = stored(store, matched("Sailboats in the harbor at dusk."))
    deliver(run(store, outbox), "job-1", [noise])
    held = store.get_mention(noise.key)
    assert held is not None and held.state == "held" and outbox.sent == []  # held back: no alert
    maria = CONFIG.recipients[0]
    first, second = unhold(held, maria, store=store), unhold(held, maria, store=store)  # both read it held
    assert (first.status, second.status) == ("done", "done")
    assert load_model(store).clicks["relevant"] == 3 + 2  # trained with three; each click teaches
    again = store.get_mention(noise.key)
    assert again is not None and unhold(again, maria, store=store).said == "not held: snoozed"  # a later click
    cycle = run(store, outbox)
    alert_ended_snoozes(cycle)
    assert [bundle_keys for bundle_keys in outbox.keys()] == [[noise.key]]
    assert cycle.report.snoozes_ended == 1 and cycle.report.held_back == 0  # a released mention is not held again
    alert_ended_snoozes(run(store, outbox))  # a later cycle: nothing left to send
    assert outbox.keys() == [[noise.key]]
    after = store.get_mention(noise.key)
    assert after is not None and after.state == "new"
    assert unhold(after, maria, store=store).said == "not held: new"
