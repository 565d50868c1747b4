"""Benchmark: rule matching throughput as rules grow, against the naive way.

The corpus is generated (seeded): posts of 40-400 characters of common English with brand-like
names, hashtags, handles, links and a few accented words and emoji. Rules use every construct
of the query language. About 2% of posts match some rule. The naive way compiles one regex
per rule and tries every rule on every mention (evaluating the query only on a regex hit).

Run: ``.venv/bin/python -m bench.matcher``; prints ``name: value`` lines.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from chalicelib.model import Mention, RuleGroup
from chalicelib.rules import And, Near, Node, Or, RuleSet, Term, compile_rules, parse_query

SEED = 20261127
MENTIONS = 20_000
NAIVE_MENTIONS = 2_000
RULE_BRAND_CHANCE = 0.035  # a post names a brand some rule is about
OTHER_BRAND_CHANCE = 0.3  # a post names a brand no rule is about

COMMON = """the be to of and a in that have i it for not on with he as you do at this but his by from they we
say her she or an will my one all would there their what so up out if about who get which go me when make can
like time no just him know take people into year your good some could them see other than then now look only
come its over think also back after use two how our work first well way even new want because any these give
day most us great love really thanks today week morning coffee price cost support service help app update
order shipping store team product customer review recommend buy bought free deal sale launch new version bug
issue problem fixed working broken slow fast cheap expensive quality friend family weekend city local shop
food lunch dinner open closed hours line wait staff nice terrible amazing awesome best worst ever never
always again still getting tried trying looking anyone know does know hiring job career remote office data
cloud phone laptop account login password email refund delivery package late early yesterday tomorrow""".split()
ACCENTED = ["café", "naïve", "jalapeño", "crème", "über", "façade", "😀", "🔥", "👍", "São"]
SYLLABLES = "zen tro va lux kor bri mo qua fin dex ly ora pix nex vo tal ri sa ko mi bel dra gon fy ti ver sol".split()
NETWORKS = ["reddit", "hackernews", "mastodon", "bluesky", "stackexchange"]
COMPANIONS = ["app", "support", "price", "cost", "service", "help", "job", "hiring", "rocks", "update"]


@dataclass(frozen=True)
class BenchRule:
    name: str
    query: str
    group: RuleGroup = "brand"
    urgent: bool = False
    exclude: Sequence[str] = ()


def brand_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct brand-like names such as "Zentrova", none inside another (so that
    ``~brand`` and ``brand*`` rules do not match every longer brand)."""
    candidates: dict[str, None] = {}
    while len(candidates) < count * 3:
        candidates["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))] = None
    automaton = ahocorasick.Automaton()
    for name in candidates:
        automaton.add_word(name, name)
    automaton.make_automaton()
    inside = {name: {found for _, found in automaton.iter(name)} - {name} for name in candidates}
    containers: dict[str, set[str]] = {}
    for name, parts in inside.items():
        for part in parts:
            containers.setdefault(part, set()).add(name)
    chosen: list[str] = []
    taken: set[str] = set()
    for name in candidates:
        if not inside[name] & taken and not containers.get(name, set()) & taken:
            chosen.append(name)
            taken.add(name)
            if len(chosen) == count:
                break
    assert len(chosen) == count, "not enough distinct brand names"
    return [name.capitalize() for name in chosen]


def build_rules(brands: Sequence[str], rng: random.Random) -> list[BenchRule]:
    """One rule per brand, cycling through the language's constructs."""
    rules = []
    for index, brand in enumerate(brands):
        low = brand.lower()
        other = brands[(index + 1) % len(brands)].lower()
        shapes = [
            low,
            f'"{low} app" OR "{low} support"',
            f"{low} AND (price OR cost OR expensive)",
            f"{low}* NOT (job OR hiring OR career)",
            f"{low} NEAR/3 (support OR service OR help)",
            f"{low} source:reddit",
            f"`{brand}`",
            f"~{low}",
            f"({low} OR {other}) lang:en NOT type:comment",
            f"{low} (site:{low}.com OR tag:{low})",
        ]
        query = shapes[index % len(shapes)]
        if index % 100 == 99:  # an industry rule on ordinary words
            query = f'"{rng.choice(COMMON[150:])} {rng.choice(COMMON[150:])}"'
        rules.append(BenchRule(f"rule-{index}", query, urgent=index % 7 == 0, exclude=("giveaway",)))
    return rules


def build_mentions(rng: random.Random, rule_brands: Sequence[str], other_brands: Sequence[str]) -> list[Mention]:
    """Posts of 40-400 characters, most naming no brand a rule is about."""
    weights = [1 / (rank + 1) for rank in range(len(COMMON))]
    created = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    mentions = []
    for number in range(MENTIONS):
        target = rng.randint(40, 400)
        words: list[str] = []
        links: list[str] = []
        tags: list[str] = []
        while sum(len(word) + 1 for word in words) < target:
            words.extend(rng.choices(COMMON, weights, k=4))
            roll = rng.random()
            if roll < 0.02:
                words.append(rng.choice(ACCENTED))
            elif roll < 0.05:
                tag = rng.choice(COMMON)
                words.append(f"#{tag}")
                tags.append(tag)
            elif roll < 0.07:
                words.append(f"@{rng.choice(other_brands).lower()}")
            elif roll < 0.08:
                link = f"https://www.{rng.choice(other_brands).lower()}.com/p/{number}"
                words.append(link)
                links.append(link)
        if rng.random() < OTHER_BRAND_CHANCE:
            words.insert(rng.randrange(len(words)), rng.choice(other_brands))
        if rng.random() < RULE_BRAND_CHANCE:
            brand = rng.choice(rule_brands)
            words.insert(rng.randrange(len(words)), f"{brand} {rng.choice(COMPANIONS)}")
            if rng.random() < 0.5:
                links.append(f"https://{brand.lower()}.com/")
        text = " ".join(words)[:400]
        text = text[0].upper() + text[1:] + rng.choice([".", "!", "?", ""])
        mentions.append(
            Mention(
                network=rng.choice(NETWORKS),
                native_id=str(number),
                url=f"https://example.net/{number}",
                text=text,
                created_at=created,
                kind=rng.choice(["post", "comment"]),
                author_handle=f"user{rng.randrange(5000)}",
                lang=rng.choice(["en", "en", "en", "de", None]),
                links=tuple(links),
                tags=tuple(tags),
            )
        )
    return mentions


def naive_pattern(node: Node) -> str:
    """A regex finding any positive term of the query, as a hand-written rule regex would."""
    if isinstance(node, Term):
        body = r"\W+".join(re.escape(word) for word in node.words)
        if node.mode == "substring":
            return body
        return rf"\b{body}\w*" if node.mode == "prefix" else rf"\b{body}\b"
    if isinstance(node, And | Or):
        parts = [naive_pattern(operand) for operand in node.operands]
        return "|".join(part for part in parts if part)
    if isinstance(node, Near):
        return "|".join((naive_pattern(node.left), naive_pattern(node.right)))
    return ""  # NOT and field filters find nothing by themselves


class NaiveMatcher:
    """One compiled regex per rule, every rule tried on every mention."""

    def __init__(self, rules: Sequence[BenchRule]) -> None:
        self.rules = [
            (re.compile(naive_pattern(parse_query(rule.query)), re.IGNORECASE), compile_rules([rule])) for rule in rules
        ]

    def count_matching(self, mentions: Sequence[Mention]) -> int:
        matching = 0
        for mention in mentions:
            text = mention.searchable_text
            if any(pattern.search(text) and rule.match(mention) for pattern, rule in self.rules):
                matching += 1
        return matching


def mentions_per_second(ruleset: RuleSet, mentions: Sequence[Mention], repeats: int = 3) -> tuple[float, int]:
    """Best throughput of ``repeats`` runs over distinct mentions, and how many matched."""
    best = float("inf")
    matched = 0
    for _ in range(repeats):
        started = time.perf_counter()
        matched = len(ruleset.match_many(mentions))
        best = min(best, time.perf_counter() - started)
    return len(mentions) / best, matched


def corpus(rule_count: int) -> tuple[list[BenchRule], list[Mention]]:
    rng = random.Random(SEED + rule_count)
    brands = brand_names(rng, rule_count + 2000)
    rule_brands, other_brands = brands[:rule_count], brands[rule_count:]
    return build_rules(rule_brands, rng), build_mentions(rng, rule_brands, other_brands)


def run() -> list[tuple[str, float]]:
    """Measure on one core; returns (name, value) pairs in the order they are printed."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    results: list[tuple[str, float]] = []
    for rule_count in (10, 1000, 10_000):
        rules, mentions = corpus(rule_count)
        ruleset = compile_rules(rules)
        rate, _ = mentions_per_second(ruleset, mentions)
        results.append((f"match_rate_{rule_count}_rules", rate))
        if rule_count == 1000:
            sample = mentions[:NAIVE_MENTIONS]
            naive = NaiveMatcher(rules)
            started = time.perf_counter()
            naive_matched = naive.count_matching(sample)
            naive_rate = len(sample) / (time.perf_counter() - started)
            # both ways must find the same mentions, or the comparison means nothing
            assert naive_matched == len(ruleset.match_many(sample)), "naive and compiled matchers disagree"
            thousand_rate = rate
    results.insert(3, ("naive_match_rate_1000_rules", naive_rate))
    results.insert(4, ("match_speedup_vs_naive_1000_rules", thousand_rate / naive_rate))
    return results


def match_fractions() -> dict[int, float]:
    """Share of generated mentions that match some rule, per rule count (to check the corpus)."""
    fractions = {}
    for rule_count in (10, 1000, 10_000):
        rules, mentions = corpus(rule_count)
        fractions[rule_count] = len(compile_rules(rules).match_many(mentions)) / len(mentions)
    return fractions


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:.1f}")
