"""Learning from the owner's clicks: a small per-business naive Bayes model of "not relevant".

*Not relevant* is a vote that a mention was noise; *Mark as handled* and *Reply* are votes that it
was relevant. The model counts words (and the rule that matched) per class, is updated online
one click at a time, and holds a mention back from alerting only when it is confident: enough
votes of both kinds and a posterior of at least HOLD_THRESHOLD that the mention is noise.

The model is a plain dict of counts (``to_dict`` / ``from_dict``) so it can live in one table item
per business; the vocabulary is capped so that item stays small.

Not wired into the pipeline or the action pages yet (docs/triage.md "Learning from the owner");
bench.learning measures it by replaying the labelled posts as a stream.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Held back only at this confidence that a mention is noise.
HOLD_THRESHOLD = 0.99
# Votes of each kind needed before the model holds anything back.
MIN_VOTES_EACH = 3
# Words kept per class; past it the rarest are dropped so the table item stays well under 400 KB.
MAX_WORDS = 2_000
_WORD = re.compile(r"[^\W\d_][\w'’-]{1,30}", re.UNICODE)
_STOP = frozenset(
    "the a an and or but to of in on at for with is are was were be it this that my i you we they me our your "
    "have has had just so not no from as by if".split()
)


def features(text: str, rules: Iterable[str] = ()) -> Counter[str]:
    """Lower-cased words of the text (no stop words) plus one "rule:<name>" feature per matched rule."""
    words = Counter(w for w in (m.group(0).casefold() for m in _WORD.finditer(text)) if w not in _STOP)
    words.update(f"rule:{name.casefold()}" for name in rules)
    return words


@dataclass
class OwnerModel:
    """Counts of words per class ("relevant", "noise") and of votes, for one business."""

    words: dict[str, dict[str, int]] = field(default_factory=lambda: {"relevant": {}, "noise": {}})
    votes: dict[str, int] = field(default_factory=lambda: {"relevant": 0, "noise": 0})

    def learn(self, text: str, rules: Iterable[str], *, relevant: bool) -> None:
        """One click: Not relevant (relevant=False), Mark as handled or Reply (relevant=True)."""
        label = "relevant" if relevant else "noise"
        counts = self.words[label]
        for word in features(text, rules):  # each word once per mention: how many mentions of the class use it
            counts[word] = counts.get(word, 0) + 1
        self.votes[label] += 1
        if len(counts) > MAX_WORDS:
            for word, _ in sorted(counts.items(), key=lambda item: item[1])[: len(counts) - MAX_WORDS]:
                del counts[word]

    def noise_probability(self, text: str, rules: Iterable[str] = ()) -> float:
        """P(noise | words) under Bernoulli-style naive Bayes with add-one smoothing; 0.5 before any vote.

        Only words the model has seen count: an unseen word would otherwise favour whichever class
        has heard fewer words, and that is the rarer "noise" class.
        """
        if not self.votes["relevant"] and not self.votes["noise"]:
            return 0.5
        known = set(self.words["relevant"]) | set(self.words["noise"])
        total_votes = self.votes["relevant"] + self.votes["noise"]
        log = {}
        for label in ("relevant", "noise"):
            counts, votes = self.words[label], self.votes[label]
            log[label] = math.log((votes + 1) / (total_votes + 2)) + sum(
                math.log((counts.get(word, 0) + 1) / (votes + 2)) for word in features(text, rules) if word in known
            )
        difference = max(-50.0, min(50.0, log["relevant"] - log["noise"]))
        return 1.0 / (1.0 + math.exp(difference))

    def holds_back(self, text: str, rules: Iterable[str] = ()) -> bool:
        """True when the model is confident the mention is noise and has heard both kinds of click."""
        if min(self.votes.values()) < MIN_VOTES_EACH:
            return False
        return self.noise_probability(text, rules) >= HOLD_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        return {"words": self.words, "votes": self.votes}

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> OwnerModel:
        """The model from its stored form; ValueError naming the field when the shape is wrong."""
        try:
            words = {
                label: {str(w): int(n) for w, n in item["words"][label].items()} for label in ("relevant", "noise")
            }
            votes = {label: int(item["votes"][label]) for label in ("relevant", "noise")}
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"stored owner model is malformed: {error!r}") from None
        return cls(words, votes)
