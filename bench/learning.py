"""Learning from the owner, by simulation: the labelled posts replayed as a stream of alerts.

Each example business starts with the rule a new owner writes first, its bare name ("pebble"),
which also matches beach pebbles and smartwatches. Only the relevance label of a post is used
(is it about that business?), never its intents or sentiment.

Which posts, and why that is fair:

- Headline figures: the simulated owners click on alerts from the *development* half's matches
  (tests/data/triage_dev.jsonl), and the model is measured on every match from the sealed
  *frozen* half (tests/data/triage_frozen.jsonl). The model's features, priors and thresholds
  were chosen looking only at the ``_dev`` figures, never at a frozen post or a frozen figure
  from this file until the design was fixed.
- ``_dev`` figures: both the clicks and the measure come from the development half (70% of its
  matches clicked on, 30% measured); this is what the model was tuned on, so it is optimistic.

The stream is shuffled (fixed seeds, averaged). A simulated owner clicks on the first N alerts
the models let through, N counted over all five businesses together (so each owner clicks about
N/5 times): *Not relevant* on a mention that is not about the business, *Mark as handled* on the
rest; a mention a model holds back gets no click. Then each business's model (one per business,
chalicelib.triage.learn) meets the measured stream without further clicks:

- ``noise_rate_after_<N>_feedbacks``: share of alerts that are not about the business;
- ``missed_relevant_after_<N>_feedbacks``: share of relevant mentions held back;
- ``noise_rate_no_model`` / ``missed_relevant_no_model``: the naive way, every match alerted;
- ``learning_model_stored_bytes_max``: the largest stored model (JSON) seen in the run;
- ``..._with_exclusions``: the same curve when, after each *Not relevant* click, the owner also accepts
  the first exclusion the action page offers that names nothing in the posts about the business it
  knows (the clicked side's relevant posts; ``replay``'s ``knows``);
- ``noise_with_a_telling_feature_after_<N>_feedbacks_dev`` / ``relevant_with_...``: what any model over
  the relevance features could learn from the first N clicked mentions (``telling_shares``);
- ``noise_ceiling_after_<N>_feedbacks_dev``: the lowest noise rate any one hold threshold over the model's
  scores reaches while holding at most 2% of the relevant mentions, chosen knowing the measured labels
  (``ceiling``): what better calibration alone could give. bench.learning_variants prints it for other
  features and models.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.triage_eval import BRAND_RULES, DEV_SET, FROZEN_SET, BrandRule, as_mention, load_posts
from chalicelib.model import MatchedMention, Mention
from chalicelib.noise import screened_exclusions
from chalicelib.rules import RuleSet, compile_rules
from chalicelib.triage.learn import FeedbackModel, relevance_features

FIRST_RULES = {
    "Bean There": '"bean there"',
    "Tally": "tally",
    "Pebble": "pebble",
    "Harbor": "harbor",
    "Sprout": "sprout",
}
FEEDBACKS = (0, 20, 50, 100)
SEEDS = range(30)
DEV_CLICKED_SHARE = 0.7
# The share of measured relevant mentions ``ceiling``'s hold threshold may hold: the issue's 2%.
CEILING_MISSED = 0.02

Stream = list[tuple[str, MatchedMention, bool]]


def matched_stream(path: Path, *, owner_rule: bool = False) -> Stream:
    """(business, matched mention, relevant) for every post of one half a business's first rule matches.

    With ``owner_rule`` each owner also keeps, beside the bare name, the full rule it writes later
    (bench.triage_eval ``BRAND_RULES``, named "<business> full rule"): a mention carries that rule's
    match too when it matches it. Which mentions are in the stream does not change."""
    posts = load_posts(path)
    stream = []
    for business, query in FIRST_RULES.items():
        full = [dataclasses.replace(BRAND_RULES[business], name=f"{business} full rule")] if owner_rule else []
        rules = compile_rules([BrandRule(business, query), *full])
        for post in posts:
            mention = as_mention(post)
            matches = rules.match(mention)
            if any(match.rule == business for match in matches):
                relevant = post["brand"] == business and post["is_brand_mention"]
                stream.append((business, MatchedMention(mention, matches), relevant))
    return stream


@dataclass
class Owner:
    """One business's simulated owner: its model, the exclusions accepted so far, what was alerted."""

    business: str
    model: FeedbackModel = field(default_factory=FeedbackModel)
    exclusions: list[str] = field(default_factory=list)
    alerted: list[tuple[Mention, str]] = field(default_factory=list)  # (mention, state) for the screen
    matcher: RuleSet | None = None

    def excluded(self, matched: MatchedMention) -> bool:
        """True when an exclusion the owner accepted keeps the mention out of the rule."""
        return self.matcher is not None and not self.matcher.match(matched.mention)

    def accept(self, term: str) -> None:
        self.exclusions.append(term)
        self.matcher = compile_rules([BrandRule(self.business, FIRST_RULES[self.business], tuple(self.exclusions))])


def replay(clicked: Stream, measured: Stream, feedbacks: int, *,
           knows: Callable[[str, str], bool] | None = None,
           model: Callable[[str], FeedbackModel] = lambda business: FeedbackModel()) -> tuple[float, float, int]:
    """Noise rate and missed-relevant rate on ``measured`` after ``feedbacks`` clicks on ``clicked``,
    and the largest stored model in bytes.

    With ``knows`` (business, term → True when the owner knows the term describes their business),
    each *Not relevant* click is followed by the exclusions the action page offers
    (``noise.screened_exclusions`` against what was alerted before), and the owner accepts the first
    one ``knows`` does not recognise; a mention an accepted exclusion keeps out is never alerted nor
    clicked, and a relevant one counts as missed. ``model`` makes each business's new model."""
    owners = taught(clicked, feedbacks, knows=knows, model=model)
    alerts = noise = missed = relevant_total = 0
    for business, matched, relevant in measured:
        owner = owners[business]
        kept_out = owner.excluded(matched) or owner.model.hold_back(matched) is not None
        relevant_total += relevant
        missed += kept_out and relevant
        if not kept_out:
            alerts += 1
            noise += not relevant
    stored = max(len(owner.model.to_json().encode()) for owner in owners.values())
    return (
        noise / alerts if alerts else 0.0,
        missed / relevant_total if relevant_total else 0.0,
        stored,
    )


def taught(clicked: Stream, feedbacks: int, *, knows: Callable[[str, str], bool] | None = None,
           model: Callable[[str], FeedbackModel] = lambda business: FeedbackModel()) -> dict[str, Owner]:
    """Each business's owner after ``feedbacks`` clicks on the alerts of ``clicked`` (``replay``)."""
    owners = {business: Owner(business, model(business)) for business in FIRST_RULES}
    clicks = 0
    for business, matched, relevant in clicked:
        if clicks == feedbacks:
            break
        owner = owners[business]
        if owner.excluded(matched) or owner.model.hold_back(matched) is not None:
            continue
        owner.model.record(matched, "relevant" if relevant else "not_relevant")
        clicks += 1
        owner.alerted.append((matched.mention, "handled" if relevant else "not_relevant"))
        if knows is not None and not relevant:
            offered = screened_exclusions(matched.mention, FIRST_RULES[business], owner.alerted[:-1])
            if accepted := next((s.term for s in offered if not knows(business, s.term)), None):
                owner.accept(accepted)
    return owners


def ceiling(clicked: Stream, measured: Stream, feedbacks: int, *,
            model: Callable[[str], FeedbackModel] = lambda business: FeedbackModel()) -> float:
    """The lowest noise rate on ``measured`` that any hold threshold over the models' scores reaches after
    ``feedbacks`` clicks, holding at most ``CEILING_MISSED`` of the measured relevant mentions: the
    measured mentions are held highest score first (pooled over the five owners, each scored by its own
    model), as if one threshold had been set knowing the measured labels: no single threshold does better."""
    owners = taught(clicked, feedbacks, model=model)
    scores: dict[float, list[bool]] = {}
    for business, matched, relevant in measured:
        scores.setdefault(owners[business].model.noise_log_odds(matched), []).append(relevant)
    relevant_total = sum(sum(group) for group in scores.values())
    alerted, noise = len(measured), len(measured) - relevant_total
    best = noise / alerted if alerted else 0.0
    held_relevant = 0
    for score in sorted(scores, reverse=True):  # a threshold holds every mention of a score, or none
        held_relevant += sum(scores[score])
        if held_relevant > CEILING_MISSED * relevant_total:
            break
        alerted, noise = alerted - len(scores[score]), noise - scores[score].count(False)
        best = min(best, noise / alerted if alerted else 0.0)
    return best


def owner_knowledge(known: Stream) -> Callable[[str, str], bool]:
    """What a simulated owner knows of their own business: the relevant posts of ``known`` (never
    the measured ones). A term is recognised when it would have removed one of them."""
    relevant = {business: [m.mention for b, m, r in known if r and b == business] for business in FIRST_RULES}
    memo: dict[tuple[str, str], bool] = {}

    def knows(business: str, term: str) -> bool:
        if (business, term) not in memo:
            matcher = compile_rules([BrandRule("term", term)])
            memo[business, term] = any(matcher.match(mention) for mention in relevant[business])
        return memo[business, term]

    return knows


def model_curve(splits: Sequence[tuple[Stream, Stream]], suffix: str) -> list[tuple[str, float]]:
    """The model alone after 20, 50 and 100 clicks over the (clicked, measured) splits, averaged."""
    figures: list[tuple[str, float]] = []
    for n in FEEDBACKS[1:]:
        results = [replay(clicked, measured, n) for clicked, measured in splits]
        figures.append((f"noise_rate_after_{n}_feedbacks{suffix}", sum(r[0] for r in results) / len(results)))
        figures.append((f"missed_relevant_after_{n}_feedbacks{suffix}", sum(r[1] for r in results) / len(results)))
    return figures


def curve(splits: Sequence[tuple[Stream, Stream]], suffix: str) -> list[tuple[str, float]]:
    """The learning curve over the (clicked, measured) splits, averaged, names ending in ``suffix``:
    the model alone, then with the exclusions the owner accepted (``replay``'s ``knows``, from the
    clicked side's relevant posts only)."""
    figures: list[tuple[str, float]] = []
    no_noise = [sum(not r for *_, r in measured) / len(measured) for _, measured in splits]
    figures.append((f"noise_rate_no_model{suffix}", sum(no_noise) / len(no_noise)))
    figures.append((f"missed_relevant_no_model{suffix}", 0.0))
    largest = 0
    for exclusions in (False, True):
        knowledge = [owner_knowledge(clicked) if exclusions else None for clicked, _ in splits]
        tail = f"_with_exclusions{suffix}" if exclusions else suffix
        for n in FEEDBACKS[1:] if exclusions else FEEDBACKS:
            results = [replay(c, m, n, knows=k) for (c, m), k in zip(splits, knowledge, strict=True)]
            figures.append((f"noise_rate_after_{n}_feedbacks{tail}", sum(r[0] for r in results) / len(results)))
            figures.append((f"missed_relevant_after_{n}_feedbacks{tail}", sum(r[1] for r in results) / len(results)))
            largest = max(largest, *(r[2] for r in results))
    figures.append((f"learning_model_stored_bytes_max{suffix}", float(largest)))
    return figures


def telling_shares(splits: Sequence[tuple[Stream, Stream]], feedbacks: int) -> tuple[float, float]:
    """What any model over the relevance features could learn from the first ``feedbacks`` clicked
    mentions: the share of measured noise, and of measured relevant mentions, that has a feature
    some clicked noise had and no clicked relevant mention had (or the prior's lower-case form).
    Holding exactly those would hold the first share of the noise and the second of the relevant."""
    noise_telling = noise = relevant_telling = relevant = 0
    for clicked, measured in splits:
        seen: dict[tuple[str, bool], set[str]] = {}
        for business, matched, is_relevant in clicked[:feedbacks]:
            seen.setdefault((business, is_relevant), set()).update(relevance_features(matched))
        for business, matched, is_relevant in measured:
            telling = (seen.get((business, False), set()) - seen.get((business, True), set())) | {"form:lower"}
            has = bool(relevance_features(matched) & telling)
            if is_relevant:
                relevant, relevant_telling = relevant + 1, relevant_telling + has
            else:
                noise, noise_telling = noise + 1, noise_telling + has
    return noise_telling / max(noise, 1), relevant_telling / max(relevant, 1)


def shuffled(stream: Stream, seed: int) -> Stream:
    order = stream[:]
    random.Random(seed).shuffle(order)
    return order


def run() -> list[tuple[str, float]]:
    dev, frozen = matched_stream(DEV_SET), matched_stream(FROZEN_SET)
    owned, owned_frozen = matched_stream(DEV_SET, owner_rule=True), matched_stream(FROZEN_SET, owner_rule=True)
    cut = int(len(dev) * DEV_CLICKED_SHARE)
    dev_splits = [(order[:cut], order[cut:]) for order in (shuffled(dev, seed) for seed in SEEDS)]
    return [
        ("learning_stream_mentions_dev", float(len(dev))),
        ("learning_stream_mentions_frozen", float(len(frozen))),
        *curve(dev_splits, "_dev"),
        *(
            (f"{what}_with_a_telling_feature_after_{n}_feedbacks_dev", share)
            for n in FEEDBACKS[2:]
            for what, share in zip(("noise", "relevant"), telling_shares(dev_splits, n), strict=True)
        ),
        *(
            (f"noise_ceiling_after_{n}_feedbacks_dev", sum(ceiling(c, m, n) for c, m in dev_splits) / len(dev_splits))
            for n in FEEDBACKS[1:]
        ),
        *curve([(shuffled(dev, seed), frozen) for seed in SEEDS], ""),
        *model_curve([(order[:cut], order[cut:]) for order in (shuffled(owned, seed) for seed in SEEDS)],
                     "_with_owner_rule_dev"),
        *model_curve([(shuffled(owned, seed), owned_frozen) for seed in SEEDS], "_with_owner_rule"),
    ]


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:.3f}")
