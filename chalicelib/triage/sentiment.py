"""Sentiment of a mention: VADER, plus the adjustments small-business talk needs.

VADER reads "the cold brew is sick" and "killer latte" as negative, sarcasm ("Oh great, they raised
prices again") as positive, and questions ("is it any good?") as praise. Each adjustment below
fixes one such measured mistake; docs/triage.md lists them with their tests and the eval figures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SentimentLabel = Literal["positive", "neutral", "negative"]

# VADER slows down badly on some long hostile inputs; the opening of a post carries its tone.
MAX_SCORED_CHARS = 5_000

# VADER's own cut-off is 0.05; one mild word ("good", "hope") in a short post is still a neutral post.
NEUTRAL_BAND = 0.25
VADER_NEUTRAL_BAND = 0.05

# Words VADER's lexicon lacks that reviews of cafés, shops and apps use all the time (valence on VADER's -4..4 scale).
DOMAIN_LEXICON: dict[str, float] = {
    "stale": -1.8,
    "burnt": -1.8,
    "lukewarm": -1.2,
    "soggy": -1.5,
    "undercooked": -1.8,
    "overpriced": -2.0,
    "overrated": -1.8,
    "overhyped": -1.8,
    "unreal": 2.0,
    "comfy": 1.8,
    "thriving": 2.0,
    "genius": 2.5,
    "disappointing": -2.2,
    # "Support" and "help" are departments here ("customer support is a joke"), not kindness.
    "support": 0.0,
    "help": 0.0,
    # "Honestly" announces a verdict either way ("honestly, it was just okay"); it is not one.
    "honestly": 0.0,
    "absurd": -1.5,
    "slow": -1.0,
    # A few Spanish, Portuguese, German and French words, because VADER only knows English.
    "excelente": 3.0,
    "perfecto": 2.5,
    "perfeito": 2.5,
    "perfekt": 2.5,
    "maravilhosa": 3.0,
    "maravilhoso": 3.0,
    "maravilloso": 3.0,
    "encanta": 2.5,
    "beste": 2.5,
    "besten": 2.5,
    "empfehlenswert": 2.0,
    "géniale": 2.5,
    "génial": 2.5,
    "superbe": 2.5,
    "superbes": 2.5,
    "mal": -2.0,
    "caro": -1.2,
    "cara": -1.2,
    "murcha": -1.8,
    "falha": -1.8,
    "altísimos": -1.2,
    "schlecht": -2.5,
    "feliz": 2.0,
    "zufrieden": 2.0,
    "satisfait": 2.0,
    "nul": -2.5,
}


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A domain idiom and the plain words VADER scores correctly in its place."""

    name: str
    pattern: re.Pattern[str]
    replacement: str | Callable[[re.Match[str]], str]


# Who can be "sick" in the illness sense; "the cold brew is sick" is praise, "my kid is sick" is not.
_PEOPLE = frozenset(
    {"i", "he", "she", "we", "they", "you", "kid", "son", "daughter", "wife", "husband", "partner", "dog", "cat", "mom"}
)


def _sick(match: re.Match[str]) -> str:
    if match.group(1).lower() in _PEOPLE:
        return match.group(0)
    return f"{match.group(1)} {match.group(2)} great"


REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        "sick as praise",
        re.compile(r"\b(\w+)\s+(is|are|was|were|'s)\s+(?:so\s+|pretty\s+|absolutely\s+|honestly\s+)?sick\b", re.I),
        _sick,
    ),
    Rewrite(
        "killer as praise",
        re.compile(r"(?<!serial )(?<!silent )(?<!pain )\bkiller\b(?!\s+(?:whales?|bees?|instinct|robots?)\b)", re.I),
        "excellent",
    ),
    Rewrite(
        "intensified good",
        re.compile(
            r"\b(?:dangerously|stupidly|ridiculously|insanely|sinfully|criminally)\s+(good|delicious|tasty)\b", re.I
        ),
        r"extremely \1",
    ),
    Rewrite(
        "praise idiom",
        re.compile(r"\b(?:on (?:a |an )?(?:whole )?(?:other|another) level|next.level|no questions asked)\b", re.I),
        "excellent",
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
    Rewrite(
        "German article",
        re.compile(r"\b[Dd]ie\b(?=\s+(?:[A-ZÄÖÜ]|beste|besten|neue|erste|gute)\w*)"),
        "",
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
    Rewrite(
        "not recommended",
        re.compile(r"\b(?:não recomendo|no recomiendo|je ne recommande pas|nicht zu empfehlen)\b", re.I),
        "do not recommend",
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

_QUESTION_SENTENCE = re.compile(r"(?:^|(?<=[.!?\n]))[^.!?\n]*\?+")


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


def _without_questions(text: str) -> str:
    # Asking whether a place is "any good" says nothing about it; only statements carry sentiment.
    statements = _QUESTION_SENTENCE.sub(" ", text)
    return statements if statements.strip() else ""


def plain_vader(text: str) -> Sentiment:
    """VADER with no adjustment, as the baseline the eval compares against."""
    compound = float(_analyzer(False).polarity_scores(text[:MAX_SCORED_CHARS])["compound"])
    return Sentiment(compound, label_for(compound, VADER_NEUTRAL_BAND))


def sentiment(text: str) -> Sentiment:
    """Sentiment of a post's text (title included by the caller if wanted).

    In: plain text in any case; only the first MAX_SCORED_CHARS characters are scored.
    Out: VADER's compound score after the domain adjustments, and its label.
    """
    text = text[:MAX_SCORED_CHARS]
    scored = _without_questions(rewrite_idioms(text))
    compound = float(_analyzer(True).polarity_scores(scored)["compound"]) if scored else 0.0
    if is_sarcastic(text) and compound > -NEUTRAL_BAND:
        # Sarcasm turns the surface praise into blame; keep its strength, at least a clear negative.
        compound = -max(abs(compound), NEUTRAL_BAND + 0.05)
    return Sentiment(round(compound, 4), label_for(compound))
