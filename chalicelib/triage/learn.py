"""Learning from the owner's clicks: one small model per business, stored as one JSON blob.

What a click tells:

- *Not relevant* (or *Wrong label → not for us*): this mention is not about the business. Usually
  because of how the name was used ("the harbor", "Pebble Time", "brussels sprout"), so the model
  reads, beside the words, the words right before and after each matched term that writes the rule's
  name (not a context word of a rule like ``pebble AND shoes``), the form the term was written in
  (lower case where the author capitalises, capitalised mid-sentence, opening a sentence, in
  capitals, in code), the rule that matched, the community, the author and the
  linked sites. (The network is a feature too, but relevance leaves it out: on the development
  stream it held more relevant mentions back and fewer noisy ones.)
- *Mark as handled* and *Reply*: relevant.
- *Wrong label → this is a complaint / question / praise*: relevant, and the intents were wrong.

Relevance is a naive Bayes over the features a mention has (``RELEVANCE_KINDS``: the matched
terms' neighbours and form, the rule, community, author and site; plain words are left out, as on
the development stream a word shared by chance with one noise click held relevant mentions back),
counted per class into ``BUCKETS`` hashed buckets so the stored size has a fixed bound, updated one
click at a time. It starts from a prior of ``PRIOR_CLICKS`` virtual clicks saying what is true of
names in general: a business name written in lower case mid-sentence is usually the common word.
It holds a mention back only when (a) the owner has made at least ``MIN_NOT_RELEVANT`` *Not
relevant* and ``MIN_RELEVANT`` relevant clicks, (b) the log-odds that the mention is noise is at
least ``HOLD_LOG_ODDS``, and (c) that score is above every score the model gave, before learning
from it, to a mention the owner then called relevant, by ``CALIBRATION_MARGIN`` (the calibration
guard: no mention the owner kept would have been held back). Intent corrections are nearest
neighbour: a mention close enough to one the owner relabelled gets the owner's label.

The stored form (``to_json``) is at most ``MAX_STORED_BYTES`` (40,000) bytes whatever is clicked:
2 × 2,048 counts of at most 4 digits, at most ``MAX_CORRECTIONS`` corrections of at most
``SIGNATURE_SIZE`` bucket numbers, at most ``MAX_SCORES`` calibration scores
(tests/unit/triage/test_learn.py builds the largest model and checks it).

Wiring (pipeline, digest, action pages) is described in docs/triage.md "Learning from the owner";
bench.learning measures the model by replaying the labelled posts as a stream.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from chalicelib.model import MatchedMention, RuleMatch
from chalicelib.triage.intent import INTENTS, Intent

Relevance = Literal["relevant", "not_relevant"]
# A click's meaning: relevant (handled, reply), not relevant (not relevant, "not for us"), or a Wrong-label intent.
Label = Relevance | Intent
LABELS: tuple[str, ...] = (*get_args(Relevance), *INTENTS)

BUCKETS = 2_048
# A count that would pass this halves every count: old clicks weigh less, and each count stays 4 digits.
MAX_COUNT = 9_999
MIN_RELEVANT = 3
MIN_NOT_RELEVANT = 1
# Feature kinds the relevance model reads ("word" is a plain word).
RELEVANCE_KINDS = frozenset({"before", "after", "form", "rule", "community", "author", "site"})
# Virtual clicks every model starts from: (features, class, weight).
PRIOR_CLICKS: tuple[tuple[tuple[str, ...], Relevance, int], ...] = (
    (("form:lower",), "not_relevant", 2),
    (("form:capital",), "relevant", 2),
    (("form:start",), "relevant", 1),
)
HOLD_LOG_ODDS = 0.75
# How far above the highest score a kept (relevant) mention got a held one must be.
CALIBRATION_MARGIN = 0.5
MAX_SCORES = 32
MAX_CORRECTIONS = 60
SIGNATURE_SIZE = 24
# Share of hashed features two mentions must have in common for a correction to carry over.
CORRECTION_SIMILARITY = 0.5
MAX_STORED_BYTES = 40_000
# A post naming the business a thousand times (or linking a thousand sites) teaches no more than its first few.
MAX_SPANS = 20
MAX_LINKS = 20
STORED_VERSION = 1

HOLD_REASON = "held back as likely not relevant"
_WORD = re.compile(r"[^\W_][\w'’-]{0,30}", re.UNICODE)
_STOP = frozenset(
    "the a an and or but to of in on at for with is are was were be it its it's this that my i i'm you we they "
    "me our your have has had just so not no from as by if do does did can will would there here".split()
)
_SENTENCE_END = re.compile(r"(?:^|[.!?\n:]\s*|\s[-–—]\s*)$")


def features(matched: MatchedMention) -> set[str]:
    """The features a click teaches about: words, each matched term's neighbours and form, rule, where, who.

    Words are lower-cased without stop words; ``before:``/``after:`` are the words next to a matched term
    (stop words kept: "the harbor" is not "at Harbor"); ``form:`` is how the term was written.
    """
    mention = matched.mention
    text = mention.searchable_text
    found = {w for w in (m.group(0).casefold() for m in _WORD.finditer(text)) if w not in _STOP and not w.isdigit()}
    casual = not any(character.isupper() for character in text)
    for match in matched.matches:
        found.add(f"rule:{match.rule.casefold()}")
        for start, end in _name_spans(text, match)[:MAX_SPANS]:
            found.update(_context(text, start, end, casual=casual))
    found.add(f"network:{mention.network}")
    if mention.community:
        found.add(f"community:{mention.community.casefold()}")
    if mention.author_handle:
        found.add(f"author:{mention.network}:{mention.author_handle.casefold().lstrip('@')}")
    for link in mention.links[:MAX_LINKS]:
        try:
            host = urllib.parse.urlsplit(link).hostname or ""
        except ValueError:  # a link from the network that is not a URL ("http://[::1") teaches nothing
            continue
        if host:
            found.add(f"site:{host.removeprefix('www.')}")
    return found


def _name_spans(text: str, match: RuleMatch) -> tuple[tuple[int, int], ...]:
    """The spans of ``match`` that write a word of its rule's name ("pebble", "Harbor Bakery" of the rule
    "Harbor"), or all of them when none does. A rule such as ``pebble AND shoes`` matches its context words
    too; their form and neighbours say nothing about how the name was used ("shoes" in lower case is not
    "pebble" in lower case)."""
    name = {w.casefold() for w in _WORD.findall(match.rule)}
    named = tuple(span for span in match.spans if name & {w.casefold() for w in _WORD.findall(text[slice(*span)])})
    return named or match.spans


def _context(text: str, start: int, end: int, *, casual: bool) -> set[str]:
    """``before:``/``after:`` words and the ``form:`` of one matched term: "code" inside backticks, "casual" in a
    post with no capital letter at all (its lower case says nothing), "start" opening a sentence, else its case."""
    term = text[start:end]
    before = _WORD.findall(text[max(0, start - 40) : start])
    after = _WORD.findall(text[end : end + 40])
    if text.count("`", 0, start) % 2:
        form = "code"
    elif casual:
        form = "casual"
    elif _SENTENCE_END.search(text[max(0, start - 4) : start]):
        form = "start"
    elif term.islower():
        form = "lower"
    elif term.isupper():
        form = "upper"
    else:
        form = "capital"
    found = {f"form:{form}"}
    if before and text[start - 1 : start].isspace():
        found.add(f"before:{before[-1].casefold()}")
    if after and text[end : end + 1] in (" ", "-", "'", "’"):
        found.add(f"after:{after[0].casefold()}")
    return found


def relevance_features(matched: MatchedMention) -> set[str]:
    """The features relevance reads (``RELEVANCE_KINDS``): the matched terms' neighbours and form, rule, where, who."""
    return {f for f in features(matched) if kind(f) in RELEVANCE_KINDS}


def kind(feature: str) -> str:
    """The kind of a feature: the part before ":", or "word"."""
    return feature.partition(":")[0] if ":" in feature else "word"


def bucket(feature: str) -> int:
    """The hashed bucket of a feature (stable across processes, unlike hash())."""
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=4).digest(), "big") % BUCKETS


@dataclass
class Correction:
    """An owner's Wrong-label click: the mention's signature, the intent it is and the intents it is not."""

    signature: frozenset[int]
    intent: Intent
    not_intents: frozenset[Intent]


@dataclass
class FeedbackModel:
    """One business's model of its owner's clicks."""

    counts: dict[Relevance, list[int]] = field(default_factory=lambda: _prior()[0])
    votes: dict[Relevance, int] = field(default_factory=lambda: _prior()[1])
    # The owner's own clicks of each kind (votes also hold the prior's virtual clicks).
    clicks: dict[Relevance, int] = field(default_factory=lambda: {"relevant": 0, "not_relevant": 0})
    # Scores the model gave to mentions before the owner called them relevant, highest first.
    relevant_scores: list[float] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    # What relevance reads of a mention: code, not stored (bench.learning_variants swaps it to compare others).
    reads: Callable[[MatchedMention], set[str]] = field(default=relevance_features, repr=False, compare=False)

    def record(self, matched: MatchedMention, label: Label) -> None:
        """Learn from one click: "relevant", "not_relevant", or the intent the owner says the mention has."""
        if label not in LABELS:
            raise ValueError(f"unknown feedback label {label!r}; expected one of {', '.join(LABELS)}")
        relevance: Relevance = "not_relevant" if label == "not_relevant" else "relevant"
        if relevance == "relevant":
            score = round(self.noise_log_odds(matched), 2)
            self.relevant_scores = sorted([*self.relevant_scores, score], reverse=True)[:MAX_SCORES]
        counts = self.counts[relevance]
        for number in {bucket(f) for f in self.reads(matched)}:
            counts[number] += 1
        self.votes[relevance] += 1
        self.clicks[relevance] = min(self.clicks[relevance] + 1, MAX_COUNT)
        if max(counts) > MAX_COUNT or self.votes[relevance] > MAX_COUNT:
            self._halve()
        if label in INTENTS:
            self._correct(features(matched), label, matched)  # type: ignore[arg-type]  # narrowed by the membership test

    def noise_log_odds(self, matched: MatchedMention) -> float:
        """log P(not relevant | features) / P(relevant | features), prior included.

        Only features the model has seen count: an unseen one would favour whichever class has heard fewer.
        """
        relevant, noise = self.votes["relevant"], self.votes["not_relevant"]
        score = math.log((noise + 1) / (relevant + 1))
        for number in {bucket(f) for f in self.reads(matched)}:
            in_relevant, in_noise = self.counts["relevant"][number], self.counts["not_relevant"][number]
            if in_relevant or in_noise:
                score += math.log((in_noise + 0.5) / (noise + 1)) - math.log((in_relevant + 0.5) / (relevant + 1))
        return score

    def hold_back(self, matched: MatchedMention) -> str | None:
        """The reason to hold this mention back from alerting (for the digest), or None to alert.

        The reason quotes words of the mention: untrusted text, escape it on output.
        """
        if self.clicks["relevant"] < MIN_RELEVANT or self.clicks["not_relevant"] < MIN_NOT_RELEVANT:
            return None
        score = self.noise_log_odds(matched)
        kept = self.relevant_scores[0] + CALIBRATION_MARGIN if self.relevant_scores else -math.inf
        if score < max(HOLD_LOG_ODDS, kept):
            return None
        telling = self._telling(matched)
        return f"{HOLD_REASON} (like mentions you marked not relevant: {', '.join(telling)})"

    def _telling(self, matched: MatchedMention) -> list[str]:
        """Up to three of the mention's features that most look like the mentions marked not relevant."""
        relevant, noise = self.votes["relevant"], self.votes["not_relevant"]

        def weight(feature: str) -> float:
            number = bucket(feature)
            in_relevant, in_noise = self.counts["relevant"][number], self.counts["not_relevant"][number]
            if not in_relevant and not in_noise:
                return 0.0  # unseen: says nothing
            return math.log((in_noise + 0.5) / (noise + 1)) - math.log((in_relevant + 0.5) / (relevant + 1))

        telling = (f for f in features(matched) if kind(f) in RELEVANCE_KINDS - {"rule"})  # every mention has a rule
        ranked = sorted(telling, key=lambda f: (-weight(f), f))
        return [_readable(f) for f in ranked[:3] if weight(f) > 0]

    def corrected_intents(self, matched: MatchedMention) -> frozenset[Intent]:
        """Triage's intents after the owner's Wrong-label clicks on similar mentions (the closest one wins)."""
        intents = matched.triage.intents if matched.triage else frozenset()
        if not self.corrections:
            return intents
        signature = _signature(features(matched))
        best, similarity = None, CORRECTION_SIMILARITY
        for correction in self.corrections:
            shared = len(signature & correction.signature) / max(len(signature | correction.signature), 1)
            if shared >= similarity:
                best, similarity = correction, shared
        if best is None:
            return intents
        return (intents - best.not_intents) | {best.intent}

    def _correct(self, found: set[str], intent: Intent, matched: MatchedMention) -> None:
        said = matched.triage.intents if matched.triage else frozenset()
        correction = Correction(_signature(found), intent, frozenset(said - {intent}))
        self.corrections = [*self.corrections, correction][-MAX_CORRECTIONS:]

    def _halve(self) -> None:
        for relevance in ("relevant", "not_relevant"):
            self.counts[relevance] = [n // 2 for n in self.counts[relevance]]  # type: ignore[index]
            self.votes[relevance] = self.votes[relevance] // 2  # type: ignore[index]

    def to_json(self) -> str:
        """The stored form: compact JSON of at most MAX_STORED_BYTES bytes."""
        return json.dumps(
            {
                "version": STORED_VERSION,
                "counts": self.counts,
                "votes": self.votes,
                "clicks": self.clicks,
                "relevant_scores": self.relevant_scores,
                "corrections": [
                    {"signature": sorted(c.signature), "intent": c.intent, "not": sorted(c.not_intents)}
                    for c in self.corrections
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, stored: str) -> FeedbackModel:
        """The model from its stored form; ValueError saying which field is wrong."""
        try:
            item = json.loads(stored)
        except json.JSONDecodeError as error:
            raise ValueError(f"stored feedback model is not JSON: {error}") from None
        if not isinstance(item, dict) or item.get("version") != STORED_VERSION:
            raise ValueError(f"stored feedback model: version must be {STORED_VERSION}")
        model = cls()
        for relevance in ("relevant", "not_relevant"):
            counts = _field(item, f"counts.{relevance}", lambda i, r=relevance: i["counts"][r])
            if len(counts) != BUCKETS or not all(_count(n) for n in counts):
                raise ValueError(f"stored feedback model: counts.{relevance} must be {BUCKETS} counts 0-{MAX_COUNT}")
            model.counts[relevance] = list(counts)  # type: ignore[index]
            votes = _field(item, f"votes.{relevance}", lambda i, r=relevance: i["votes"][r])
            if not _count(votes):
                raise ValueError(f"stored feedback model: votes.{relevance} must be a count 0-{MAX_COUNT}")
            model.votes[relevance] = votes  # type: ignore[index]
            clicks = _field(item, f"clicks.{relevance}", lambda i, r=relevance: i["clicks"][r])
            if not _count(clicks):
                raise ValueError(f"stored feedback model: clicks.{relevance} must be a count 0-{MAX_COUNT}")
            model.clicks[relevance] = clicks  # type: ignore[index]
        scores = _field(item, "relevant_scores", lambda i: i["relevant_scores"])
        if not isinstance(scores, list) or len(scores) > MAX_SCORES or not all(_number(s) for s in scores):
            raise ValueError(f"stored feedback model: relevant_scores must be at most {MAX_SCORES} numbers")
        model.relevant_scores = sorted((float(s) for s in scores), reverse=True)
        corrections = _field(item, "corrections", lambda i: i["corrections"])
        if not isinstance(corrections, list) or len(corrections) > MAX_CORRECTIONS:
            raise ValueError(f"stored feedback model: corrections must be a list of at most {MAX_CORRECTIONS}")
        model.corrections = [_correction(c, n) for n, c in enumerate(corrections)]
        return model


def _field(item: dict[str, Any], name: str, read: Any) -> Any:
    try:
        return read(item)
    except (KeyError, TypeError):
        raise ValueError(f"stored feedback model: {name} is missing") from None


def _count(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT


def _number(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]


def _correction(item: object, number: int) -> Correction:
    where = f"stored feedback model: corrections[{number}]"
    if not isinstance(item, dict):
        raise ValueError(f"{where} must be an object")
    signature, intent, not_intents = item.get("signature"), item.get("intent"), item.get("not")
    if not isinstance(signature, list) or len(signature) > SIGNATURE_SIZE:
        raise ValueError(f"{where}.signature must be at most {SIGNATURE_SIZE} bucket numbers")
    if not all(type(n) is int and 0 <= n < BUCKETS for n in signature):
        raise ValueError(f"{where}.signature must be at most {SIGNATURE_SIZE} bucket numbers")
    if intent not in INTENTS:
        raise ValueError(f"{where}.intent must be one of {', '.join(INTENTS)}")
    if not isinstance(not_intents, list) or not all(i in INTENTS for i in not_intents):
        raise ValueError(f"{where}.not must be a list of intents")
    return Correction(frozenset(signature), intent, frozenset(not_intents))


def _prior() -> tuple[dict[Relevance, list[int]], dict[Relevance, int]]:
    counts: dict[Relevance, list[int]] = {"relevant": [0] * BUCKETS, "not_relevant": [0] * BUCKETS}
    votes: dict[Relevance, int] = {"relevant": 0, "not_relevant": 0}
    for names, relevance, weight in PRIOR_CLICKS:
        for name in names:
            counts[relevance][bucket(name)] += weight
        votes[relevance] += weight
    return counts, votes


def _signature(found: set[str]) -> frozenset[int]:
    """The buckets of a mention's features that say most about it: its words and term context, not where."""
    telling = sorted(f for f in found if not f.startswith(("network:", "rule:", "form:")))
    return frozenset(sorted({bucket(f) for f in telling})[:SIGNATURE_SIZE])


_FORMS = {
    "code": "the name in code",
    "casual": "a post in lower case",
    "lower": "the name in lower case",
    "capital": "the name capitalised mid-sentence",
    "upper": "the name in capitals",
    "start": "the name opening a sentence",
}


def _readable(feature: str) -> str:
    """A feature in the owner's words; quotes words of the mention (untrusted: escape on output)."""
    kind_, _, value = feature.partition(":")
    value = value[:60]
    if kind_ == "before":
        return f'"{value}" before the name'
    if kind_ == "after":
        return f'"{value}" after the name'
    if kind_ == "form":
        return _FORMS[value]
    if kind_ == "community":
        return f"posted in {value}"
    if kind_ == "author":
        return f"by {value.partition(':')[2]} on {value.partition(':')[0]}"
    return f"links to {value}"  # site
