"""Sentiment of a mention: VADER, plus the adjustments small-business talk needs.

VADER misses words small-business talk uses ("stale", "soggy"), idioms ("used to be great", "never
again") and a few non-English words. Each adjustment below fixes one such measured mistake and ships
only if it lowers plain VADER on no public corpus (bench.triage_eval checks every one of them on the
VADER paper's four ground-truth sets and TweetEval). Sarcasm is detected (is_sarcastic, for intents)
but no longer flips the score, and questions are scored like statements: both lowered accuracy on
the public tweets. docs/triage.md lists the adjustments, the ones dropped and the figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from chalicelib.model import SentimentLabel

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# VADER slows down badly on some long hostile inputs; the opening of a post carries its tone.
MAX_SCORED_CHARS = 5_000

# VADER's own cut-off. A wider band (0.25) scored better on the project's own posts but lowered accuracy on
# four of the five public corpora (docs/triage.md), so the label keeps VADER's; intents use their own margins.
NEUTRAL_BAND = 0.05
VADER_NEUTRAL_BAND = NEUTRAL_BAND

# Words VADER's lexicon lacks that reviews of cafés, shops and apps use all the time (valence on VADER's -4..4 scale).
DOMAIN_LEXICON: dict[str, float] = {
    "stale": -1.8,
    "burnt": -1.8,
    "lukewarm": -1.2,
    "soggy": -1.5,
    "absurd": -1.5,
    # A few Spanish, Portuguese, German and French words, because VADER only knows English.
    "excelente": 3.0,
    "besten": 2.5,
    "empfehlenswert": 2.0,
    "géniale": 2.5,
    "superbes": 2.5,
    "mal": -2.0,
}


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A domain idiom and the plain words VADER scores correctly in its place."""

    name: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]


REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        "intensified good",
        re.compile(
            r"\b(?:dangerously|stupidly|ridiculously|insanely|sinfully|criminally)\s+(good|delicious|tasty)\b", re.I
        ),
        r"extremely \1",
    ),
    Rewrite(
        "a joke",
        re.compile(r"\b(is|are|was|were) (?:a |an )?(?:complete |total |absolute )?joke\b", re.I),
        r"\1 terrible",
    ),
    Rewrite(
        "decline",
        re.compile(r"\bused to be (?:so |really )?(?:great|good|amazing|the best|my favou?rite)\b", re.I),
        "got worse",
    ),
    Rewrite(
        "fed up",
        re.compile(r"(?:^|(?<=[.!?\n] ))(?:I'?m |we'?re )?(?:done|finished) with\b", re.I),
        "frustrated with",
    ),
    Rewrite(
        "neglect",
        re.compile(r"\b(?:nobody|no one)\s+(?:seems to\s+|seemed to\s+)?cared?s?\b", re.I),
        "neglected",
    ),
    Rewrite("to die for", re.compile(r"\bto die for\b", re.I), "wonderful"),
    Rewrite(
        "satisfied customer",
        re.compile(
            r"\b(?:no complaints|can'?t complain|not bad at all|never looked back|never misses?|worth it)\b", re.I
        ),
        "very satisfied",
    ),
    Rewrite(
        "lost customer",
        re.compile(
            r"\b(?:never again|not coming back|won'?t be back|not going back|no vuelvo|nunca mais"
            r"|still no(?:thing| reply| tracking| answer| response)|(?:no|zero) (?:reply|response|answer)s?"
            r"|fell apart|falls apart|fall apart|not impressed|waste of money|charged (?:me )?twice|double.charged)\b",
            re.I,
        ),
        "terrible",
    ),
)

# Phrases that are sarcastic on their own.
SARCASM = re.compile(
    r"\byeah,? right\b|\breally (?:said|out here)\b|\b(?:love|loving) (?:how|paying|redoing|waiting)\b"
    r"|\btruly world.class\b|\btotally love\b|\bthanks a lot\b|\bthanks for nothing\b|\bgreat use of my\b"
    r"|\bmade my (?:day|dinner|night)\b|\b(?:thank you|thanks),? [A-Z]\w+(?: \w+)? for the ['\"‘“]",
    re.I,
)
# "Oh great," / "Sure," opening a sentence is sarcastic only next to a grievance cue; "Wow! Best croissant" is not.
SARCASTIC_OPENING = re.compile(
    r"(?:^|[.!?\n]\s*)(?:oh\s+)?(?:great|wonderful|cool|sure|perfect|fantastic|lovely|awesome|wow)\s*[,.!]", re.I
)
GRIEVANCE_CUE = re.compile(
    r"['\"‘“][^'\"’”]{2,40}['\"’”]|\$\d|\bagain\b|\banother\b|\bin a row\b|\b(?:third|fourth|fifth)\b"
    r"|\b\d+\s*(?:minutes|mins|hours|days|weeks)\b|\bstill\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Sentiment:
    """Compound score in [-1, 1] and its label."""

    compound: float
    label: SentimentLabel


@cache
def _analyzer(domain: bool) -> SentimentIntensityAnalyzer:
    # Imported and built on first use: it reads a 7,500-line lexicon file, so importing triage stays cheap.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    if domain:
        analyzer.lexicon.update(DOMAIN_LEXICON)
    return analyzer


def label_for(compound: float, band: float = NEUTRAL_BAND) -> SentimentLabel:
    """positive / neutral / negative for a compound score; scores within +-band are neutral."""
    if compound >= band:
        return "positive"
    if compound <= -band:
        return "negative"
    return "neutral"


def rewrite_idioms(text: str) -> str:
    """The text with each domain idiom replaced by plain words VADER scores as a reader would."""
    for rewrite in REWRITES:
        text = rewrite.pattern.sub(rewrite.replacement, text)
    return text


def is_sarcastic(text: str) -> bool:
    """True when the text has a sarcastic phrase, or a sarcastic opening next to a grievance cue."""
    if SARCASM.search(text):
        return True
    return SARCASTIC_OPENING.search(text) is not None and GRIEVANCE_CUE.search(text) is not None


def plain_vader(text: str) -> Sentiment:
    """VADER with no adjustment, as the baseline the eval compares against."""
    compound = float(_analyzer(False).polarity_scores(text[:MAX_SCORED_CHARS])["compound"])
    return Sentiment(compound, label_for(compound, VADER_NEUTRAL_BAND))


def sentiment(text: str) -> Sentiment:
    """Sentiment of a post's text (title included by the caller if wanted).

    In: plain text in any case; only the first MAX_SCORED_CHARS characters are scored.
    Out: VADER's compound score after the domain adjustments, and its label.
    """
    compound = float(_analyzer(True).polarity_scores(rewrite_idioms(text[:MAX_SCORED_CHARS]))["compound"])
    return Sentiment(round(compound, 4), label_for(compound))
