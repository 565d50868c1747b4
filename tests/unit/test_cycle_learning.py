"""The cycle's use of the owner-feedback model (chalicelib.cycle.learning), on MemoryStore:
intents corrected right after triage, mentions held back before alerting (never urgent or VIP),
the model read once per cycle."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from chalicelib.config import parse_config
from chalicelib.cycle.context import Cycle, CycleReport
from chalicelib.cycle.learning import corrected, hold_back
from chalicelib.cycle.screen import screen
from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention, RuleMatch, StoredMention
from chalicelib.store.memory import MemoryStore
from chalicelib.triage.feedback import ModelCache, record_click
from chalicelib.triage.learn import HOLD_REASON
from tests.unit.triage.test_learn import NOISE, RELEVANT, matched

CONFIG = parse_config("""\
business: {name: Harbor Bakery}
rules:
  - {name: Harbor, group: brand, keywords: [Harbor]}
networks: {reddit: {}}
recipients:
  - {name: Maria, email: maria@harbor.example}
alerts: {from_address: alerts@harbor.example, action_base_url: "https://listen.example"}
vip: ["reddit:harbor_fan"]
""")
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
DAY = "2026-12-01"


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__(clock=NOW.timestamp)
        self.model_reads = 0

    def feedback_model(self) -> tuple[str, int] | None:
        self.model_reads += 1
        return super().feedback_model()


def cycle(store: MemoryStore, *, cache: bool = True) -> Cycle:
    return Cycle(CONFIG, store, {}, {}, TokenSigner(b"k" * 32), NOW.timestamp, CycleReport(), 120.0,
                 ModelCache(store) if cache else None)


def trained(store: MemoryStore) -> None:
    """Three Not relevant clicks on the harbor as a place, three Mark as handled on the bakery."""
    for text in NOISE:
        record_click(store, matched(text), "not_relevant")
    for text in RELEVANT:
        record_click(store, matched(text), "relevant")


def stored(store: MemoryStore, *items: MatchedMention, state: str = "new") -> list[StoredMention]:
    store.store_new_mentions(items, f"job-{items[0].mention.native_id}", 60)
    for item in items:
        store.set_mention_state(item.mention.key, state)
    return [store.get_mention(i.mention.key) for i in items]  # type: ignore[misc]


def test_a_new_mention_like_one_the_owner_relabelled_gets_the_owners_intent_and_its_priority() -> None:
    store = MemoryStore(clock=NOW.timestamp)
    record_click(store, matched("Harbor lost my order again, so slow.", intents=frozenset({"praise"})), "complaint")
    similar = matched("Harbor lost my order again, so slow!!", intents=frozenset({"praise"}))
    other = matched("Harbor Bakery opens at 7.", intents=frozenset({"praise"}))
    out = corrected(cycle(store), [similar, other])
    assert out[0].triage is not None and out[0].triage.intents == {"complaint"}
    assert out[0].triage.reasons[0] == "complains" and out[0].triage.opportunity
    assert out[0].priority == 45  # 10 + 20 complains + 15 names your business (12 hours old: no age points)
    assert out[1] == other  # nothing like it was relabelled: untouched


def test_noise_the_model_knows_is_held_for_the_digest_and_not_alerted() -> None:
    store = CountingStore()
    trained(store)
    noise, wanted = matched("Sailboats in the harbor at dusk."), matched("Harbor croissants are back!")
    run = cycle(store)
    leads, _ = screen(run, stored(store, noise, wanted), NOW)
    assert [m.key for m in leads] == [wanted.mention.key]
    assert run.report.held_back == 1
    reason = store.held_back([DAY])[noise.mention.key]
    assert reason.startswith(f"{HOLD_REASON} (like mentions you marked not relevant: ")
    assert store.get_mention(noise.mention.key).state == "held"  # type: ignore[union-attr]
    assert store.get_mention(wanted.mention.key).state == "new"  # type: ignore[union-attr]


def test_urgent_rules_vip_authors_and_the_owners_own_states_are_never_held() -> None:
    store = MemoryStore(clock=NOW.timestamp)
    trained(store)
    noise = matched("Sailboats in the harbor at dusk.")
    urgent = replace(noise, matches=(RuleMatch("Harbor", "brand", True, ((17, 23),)),))
    vip = matched("Fog over the harbor, again.", author_handle="Harbor_Fan")
    snoozed = matched("Gulls all over the harbor.")
    run = cycle(store, cache=False)
    mentions = [*stored(store, urgent, vip), *stored(store, snoozed, state="snoozed")]
    learned = ModelCache(store).get()
    assert all(learned.hold_back(m) for m in (noise, vip, snoozed))  # each would be held but for what it is
    assert [m.key for m in hold_back(run, mentions, DAY)] == [m.key for m in mentions]
    assert (run.report.held_back, store.held_back([DAY])) == (0, {})


def test_the_model_is_read_once_per_cycle_and_not_at_all_without_new_mentions() -> None:
    store = CountingStore()
    run = cycle(store)
    assert (corrected(run, []), hold_back(run, [], DAY), store.model_reads) == ([], [], 0)
    corrected(run, [matched(RELEVANT[0])])
    hold_back(run, stored(store, matched(RELEVANT[1])), DAY)
    assert store.model_reads == 1

