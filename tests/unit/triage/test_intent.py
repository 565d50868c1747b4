"""Intents: each one with examples, and the look-alikes that are not it."""

from __future__ import annotations

import pytest

from chalicelib.triage.intent import intents
from chalicelib.triage.sentiment import Sentiment, sentiment


def intents_of(text: str) -> frozenset[str]:
    return intents(text, sentiment(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # question
        ("Does Bean There take cards?", {"question"}),
        ("Anyone know if Pebble price-matches", {"question"}),
        ("Moving to the neighborhood next month, any good cafés?", {"question"}),
        # recommendation request (always a question too)
        ("Can anyone recommend a bookkeeping app for a sole trader?", {"question", "recommendation_request"}),
        ("Alternative to Tally for a two-person agency?", {"question", "recommendation_request"}),
        ("Looking for an alternative to Bean There that is open late.", {"question", "recommendation_request"}),
        ("Which would you pick, Tally or Wave?", {"question", "recommendation_request"}),
        (
            "¿Alguien me puede recomendar una panadería con pan de masa madre?",
            {"question", "recommendation_request"},
        ),
        ("Kann jemand eine gute Buchhaltungssoftware empfehlen?", {"question", "recommendation_request"}),
        ("Quelqu'un peut recommander un bon café à Lyon ?", {"question", "recommendation_request"}),
        # complaint
        ("The croissants were stale and the coffee lukewarm.", {"complaint"}),
        ("Pebble refused a return on boots that fell apart in a month.", {"complaint"}),
        ("The API returns 500 when an invoice has 51 line items.", {"complaint"}),
        ("Oh great, Bean There raised the latte to 7.50 again.", {"complaint"}),
        # praise
        ("Shoutout to Harbor Bakery, the morning buns are perfect.", {"praise"}),
        ("Tally's invoice reminders are the only reason my clients pay on time. Genius.", {"praise"}),
        ("Me encanta este lugar, el café es excelente.", {"praise"}),
        # purchase intent
        ("Going to order a bag of the house blend tomorrow.", {"purchase_intent"}),
        ("Where can I buy the boots from this video?", {"purchase_intent", "question"}),
        ("Just renewed Sprout for another year.", {"purchase_intent"}),
        ("Take my money, Pebble.", {"purchase_intent"}),
        # churn
        ("Switched from QuickBooks to Tally last year.", {"churn"}),
        ("Moving away from Tally to Wave after the price hike.", {"churn"}),
        ("Cancelled my Sprout subscription.", {"churn"}),
        ("Done with Etsy. Moving my shop to my own site.", {"churn", "complaint"}),
        ("Mudei de QuickBooks para Tally, o app é excelente.", {"churn", "praise"}),
    ],
)
def test_intents_of_example_posts(text: str, expected: set[str]) -> None:
    assert intents_of(text) == frozenset(expected)


@pytest.mark.parametrize(
    "text",
    [
        "Why is every café so loud?",
        "Anyone else get charged twice this month?",
        "Who needs working exports anyway? Tally apparently thinks nobody.",
    ],
)
def test_rhetorical_question_is_a_complaint_not_a_question(text: str) -> None:
    assert intents_of(text) == frozenset({"complaint"})


def test_invitation_ending_in_anyone_is_not_a_question() -> None:
    assert intents_of("Bakery crawl, anyone?") == frozenset()


def test_someone_else_switching_is_not_churn() -> None:
    assert intents_of("The bakery near me switched to frozen croissants.") == frozenset()


def test_asking_whether_it_is_good_is_not_praise() -> None:
    assert intents_of("Is Harbor any good? Thinking of going Saturday.") == frozenset({"question"})


def test_upbeat_purchase_plan_is_not_praise() -> None:
    text = "Heading to Pebble this afternoon to buy winter boots. Wish me luck."
    assert sentiment(text).label == "positive"
    assert intents_of(text) == frozenset({"purchase_intent"})


def test_news_is_no_intent() -> None:
    assert intents_of("Bean There is hiring a part-time barista, weekends only.") == frozenset()


def test_open_late_is_not_a_complaint_but_arriving_late_is() -> None:
    assert "complaint" not in intents_of("Is there a café open late near Division?")
    assert "complaint" in intents_of("My order arrived late and cold.")


def test_sarcasm_is_a_complaint_even_when_the_score_says_positive() -> None:
    assert intents("Love how the app logs me out every day.", Sentiment(0.6, "positive")) == frozenset({"complaint"})


def test_clearly_negative_statement_is_a_complaint_without_a_telling_phrase() -> None:
    assert intents("Everything about the visit.", Sentiment(-0.6, "negative")) == frozenset({"complaint"})


def test_clearly_positive_statement_is_praise_without_a_telling_phrase() -> None:
    assert intents("Everything about the visit.", Sentiment(0.6, "positive")) == frozenset({"praise"})


def test_mildly_positive_statement_needs_something_a_business_offers_to_be_praise() -> None:
    assert intents("The weather held up.", Sentiment(0.3, "positive")) == frozenset()
    assert intents("The staff held up.", Sentiment(0.3, "positive")) == frozenset({"praise"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # praise written with words VADER reads as negative
        ("Their oat latte is killer.", {"praise"}),
        ("The cold brew at Bean There is sick.", {"praise"}),
        ("The cardamom buns are insanely good.", {"praise"}),
        # praise needs a statement: asking whether it is worth it praises nothing
        ("any freelancers here use tally for bookkeeping? is it worth it?", {"question"}),
        # a tag question is not a question
        ("That latte art is from Bean There, right? Beautiful work.", {"praise"}),
        # a request without a question mark, and the recommendation anywhere in it
        ("New in Ballard. Anyone have recs for a bakery with real rye.", {"question", "recommendation_request"}),
        ("Need a good bookkeeping app for my Etsy shop, help me choose.", {"question", "recommendation_request"}),
        # churn in any position, a complaint only with a reason
        ("After six years we're moving off QuickBooks.", {"churn"}),
        ("Cancelled my Sprout box. The plants arrived dead twice and nobody answered.", {"churn", "complaint"}),
    ],
)
def test_intents_by_what_a_sentence_does(text: str, expected: set[str]) -> None:
    assert intents_of(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["My kid is sick so we stayed home.", "Saw a killer whale from the ferry."])
def test_sick_and_killer_are_praise_only_about_things(text: str) -> None:
    assert "praise" not in intents_of(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A complaint told as a plain report that something does not do what it should, with no complaint word.
        ("The Tally app won't load my invoices since the update.", {"complaint"}),
        ("I still haven't received the boots I ordered from Pebble on the 3rd.", {"complaint"}),
        ("Sprout keeps cancelling my delivery slot.", {"complaint"}),
        ("We were told the oven would be fixed by Friday. It's Tuesday.", {"complaint"}),
        ("Can't log in to Tally on my phone, it just spins.", {"complaint"}),
        ("Two of the pastries were missing from my Harbor order.", {"complaint"}),
        ("The export has stopped working for our whole team.", {"complaint"}),
        # Asked as a question, still a complaint (and a question when it asks for something).
        ("Why is my Pebble order still 'processing' after two weeks?", {"question", "complaint"}),
        ("How come the Bean There app charges me a fee now?", {"question", "complaint"}),
        ("Printer drivers won't install on my laptop. Any idea?", {"question", "complaint"}),
        ("@TallyHelp why won't the export finish?", {"question", "complaint"}),
        # Look-alikes that report no failure.
        ("Can't wait to try the new Harbor rye.", {"purchase_intent"}),
        ("I can't decide between Tally and Wave.", set()),
        ("Why does sourdough need a starter?", {"question"}),
        ("Nothing is missing from the starter kit, it has everything.", set()),
    ],
)
def test_a_reported_failure_is_a_complaint(text: str, expected: set[str]) -> None:
    assert intents_of(text) == expected


REQUEST = {"question", "recommendation_request"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A recommendation request by its grammar, with no "recommend" or "best": an existential or a
        # where-question about a place or product to get, a choice between named options, a request closing a post.
        ("Is there a decent shoe repair place near the Mission?", REQUEST),
        ("Any other plant subscriptions that ship to Alaska?", REQUEST),
        ("Where else in Fremont could we find a proper sourdough?", REQUEST),
        ("For a sole trader, would you go with Tally or a spreadsheet?", REQUEST),
        ("Should I get the Pebble loafers or the derbies?", REQUEST),
        ("New to Portland and hunting for a quiet café to work from. Suggestions welcome", REQUEST),
        ("Need a bookkeeping app that handles two currencies, would appreciate any recs", REQUEST),
        # Look-alikes: a how-to, a yes/no question, a choice that is no purchase.
        ("Is there a way to export invoices as CSV?", {"question"}),
        ("Is Harbor open on Sundays?", {"question"}),
        # Churn told by where the custom goes now ("… instead"), or by not renewing.
        ("I've started taking my dry cleaning to the place on 5th instead.", {"churn"}),
        ("We're not renewing our Sprout plan next month.", {"churn"}),
        ("Closed my Tally account this morning.", {"churn"}),
        # Not churn: an instead that moves no custom.
        ("We had tea instead of coffee today.", set()),
        # A purchase plan without a buying verb.
        ("Saving up for the Pebble chelsea boots.", {"purchase_intent"}),
        ("The oat latte is next on my list at Bean There.", {"purchase_intent"}),
    ],
)
def test_requests_churn_and_plans_by_their_grammar(text: str, expected: set[str]) -> None:
    assert intents_of(text) == expected
