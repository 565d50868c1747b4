"""Mark a mention not relevant, and the exclusions that would have kept it out of its rules.

Marking changes no rule: the owner is offered exclusions (each a further link) that would have
removed no other mention of the rule this week but those marked not relevant too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import Outcome, learn
from chalicelib.actions.handled import StateStore, set_state

if TYPE_CHECKING:
    from chalicelib.config import ListenConfig, Recipient
    from chalicelib.model import StoredMention

EXCLUSION_TERM_MAX_CHARS = 100  # a suggested exclusion travels in its link's token (at most 2,048 characters)
SUGGESTION_WINDOW_SECONDS = 7 * 86400  # a suggested exclusion is tested against the rule's mentions of this week


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A suggested exclusion: ``term`` for ``rule``, and how many other mentions of the rule
    this week it would have removed (each marked not relevant)."""

    rule: str
    term: str
    would_have_removed: int


class RuleMentionStore(Protocol):
    def rule_mentions_since(self, rule: str, since: float) -> list[StoredMention]: ...


def mark_not_relevant(stored: StoredMention, actor: Recipient, *, store: StateStore) -> Outcome:
    """``actor`` marks the mention not relevant (the channel audits it as theirs); the feedback
    model learns it."""
    return learn(set_state(stored, "not_relevant", store=store), stored, "not_relevant", store=store)


def suggested_exclusions(stored: StoredMention, *, config: ListenConfig, store: RuleMentionStore,
                         clock: Callable[[], float]) -> list[Exclusion]:
    """For each configured rule the mention matched: the exclusions screened against the rule's
    mentions of the last ``SUGGESTION_WINDOW_SECONDS`` (none that would have removed a mention
    not marked not relevant), without terms too long to travel in a link."""
    from chalicelib.noise import screened_exclusions

    found = []
    since = clock() - SUGGESTION_WINDOW_SECONDS
    for match in stored.item.matches:
        rule = next((r for r in config.rules if r.name == match.rule), None)
        if rule is None:
            continue
        past = [(m.item.mention, m.state) for m in store.rule_mentions_since(rule.name, since)]
        for suggestion in screened_exclusions(stored.item.mention, rule.effective_query, past):
            if len(suggestion.term) <= EXCLUSION_TERM_MAX_CHARS:  # no one excludes such a word
                found.append(Exclusion(rule.name, suggestion.term, suggestion.would_have_removed))
    return found
