"""Several terms in one search: grouping within a network's limits, handing each term its
mentions and cursor, and the one cursor a group searches from."""

from __future__ import annotations

import datetime as dt

from chalicelib.model import Mention
from chalicelib.sources.base import FetchResult, SearchBatching, attribute, oldest_cursor, pack_terms, quoted

AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def render(terms: list[str] | tuple[str, ...]) -> str:
    return " OR ".join(quoted(t) for t in terms)


def test_terms_are_packed_in_order_within_the_term_and_length_limits() -> None:
    terms = ["a", "bb", "cc", "d", "eeeeeeeeee"]
    assert pack_terms(terms, render, SearchBatching(max_terms=2, max_chars=100, doc="")) == [
        ("a", "bb"), ("cc", "d"), ("eeeeeeeeee",)]
    assert pack_terms(terms, render, SearchBatching(max_terms=9, max_chars=14, doc="")) == [
        ("a", "bb", "cc"), ("d",), ("eeeeeeeeee",)]  # "a OR bb OR cc": 13 characters; "d OR eeeeeeeeee": 15
    assert pack_terms(["a very long phrase"], render, SearchBatching(max_terms=9, max_chars=5, doc="")) == [
        ("a very long phrase",)]


def test_a_phrase_is_quoted_and_a_quote_inside_it_cannot_end_it() -> None:
    assert quoted("Bean There") == '"Bean There"'
    assert quoted('Bean" OR x') == '"Bean  OR x"'
    assert quoted("espresso") == "espresso"


def test_each_mention_goes_to_the_first_term_it_names_once_and_every_term_gets_the_cursor() -> None:
    mentions = [Mention("reddit", str(n), f"https://x/{n}", text, AT, title=title)
                for n, (title, text) in enumerate([("Bean There rocks", "a refund"), ("", "REFUND please"),
                                                    ("", "neither")])]
    result = FetchResult(mentions, {"created_utc": 5.0}, pages=2, complete=False, skipped=["bad item"])
    parts = attribute(result, ["bean there", "refund", "espresso"])
    assert {t: [m.native_id for m in r.mentions] for t, r in parts.items()} == {
        "bean there": ["0", "2"], "refund": ["1"], "espresso": []}
    assert [(r.cursor, r.complete) for r in parts.values()] == [({"created_utc": 5.0}, False)] * 3
    assert (parts["bean there"].pages, parts["bean there"].skipped) == (2, ["bad item"])
    assert (parts["refund"].pages, parts["refund"].skipped) == (0, [])


def test_a_group_searches_from_the_shared_cursor_a_first_run_or_the_oldest_floor() -> None:
    def floor(c: dict) -> float:
        return float(c.get("gap", c)["t"])

    def restart(t: float) -> dict:
        return {"t": t}

    same = {"t": 10, "ids": ["x"]}
    assert oldest_cursor([same, dict(same)], floor, restart) == same
    assert oldest_cursor([same, None], floor, restart) is None
    assert oldest_cursor([{"t": 10}, {"t": 30, "gap": {"t": 4}}, {"t": 7}], floor, restart) == {"t": 4}
