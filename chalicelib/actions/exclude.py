"""Add an exclusion to a rule: mentions containing the term no longer match it, from the next poll on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import Outcome

if TYPE_CHECKING:
    from chalicelib.config import Recipient, RuleConfig


class ExclusionStore(Protocol):
    def add_exclusion(self, rule: str, term: str) -> None: ...


def exclude(rule: RuleConfig, term: str, actor: Recipient, *, store: ExclusionStore) -> Outcome:
    """``actor`` adds ``term`` (as the link signed it) to ``rule``'s exclusions."""
    store.add_exclusion(rule.name, term)
    return Outcome("done", "done", f"\u201c{rule.name}\u201d now excludes {term}, from the next poll on.")
