"""A configuration that validates runs: every rule compiled as the runtime compiles it, every bad
value a positioned, short error (issue 12 "A configuration that validates must run"; issue 14 finding 9)."""

from __future__ import annotations

import time

import pytest
import yaml

from chalicelib.config import compiled_rules, parse_config
from chalicelib.model import Mention
from tests.unit.test_config import problems

BASE = """\
business:
  name: Spoke & Chain
rules:
  - name: brand
    group: brand
    keywords: ["Spoke & Chain", "spokeandchain.example"]
  - name: complaints
    group: brand
    query: '"Spoke & Chain" AND (refund OR rude)'
    exclude: ["giveaway"]
exclude: ["spam"]
networks:
  hackernews:
    base_url: http://127.0.0.1:9/hackernews
recipients:
  - name: Maria
    email: maria@spokeandchain.example
    phone: "+351912345678"
    timezone: Europe/Lisbon
alerts:
  from_address: alerts@spokeandchain.example
"""


def quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (escapes for control characters)."""
    return yaml.safe_dump(value, default_style='"', width=1_000_000).strip()


def mention(text: str) -> Mention:
    import datetime as dt

    return Mention(network="hackernews", native_id="1", url="https://news.ycombinator.com/item?id=1", text=text,
                   created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def matched(text: str) -> list[str]:
    return [m.rule for m in compiled_rules(parse_config(BASE)).match(mention(text))]


# A keyword is a literal phrase


def test_a_keyword_with_a_lone_ampersand_is_accepted_and_matched_as_written() -> None:
    assert matched("Just bought a bike at Spoke & Chain in Lisbon") == ["brand"]
    assert matched("spoke&chain fixed my wheel") == ["brand"]
    assert matched("Spoke & Chain were rude to me") == ["brand", "complaints"]


def test_a_keyword_does_not_match_without_its_punctuation_or_with_other_words() -> None:
    assert matched("a spoke chain for my bike") == []
    assert matched("Spoke and Chain") == []
    assert matched("Spokes & Chains") == []


def test_operators_in_a_keyword_are_words() -> None:
    text = BASE.replace('"spokeandchain.example"', '"Salt AND Pepper (NOT) NEAR/2 ~x*"')
    rules = compiled_rules(parse_config(text))
    assert [m.rule for m in rules.match(mention("Salt and pepper (not) near/2 ~x* tonight"))] == ["brand"]
    assert rules.match(mention("salt and pepper")) == ()


@pytest.mark.parametrize("keyword", ["&", '"', "!!  ?", "--"])
def test_a_keyword_without_a_letter_or_digit_is_an_error_where_it_is(keyword: str) -> None:
    text = BASE.replace('"spokeandchain.example"', "'" + keyword + "'")
    assert problems(text) == [
        'listen.yaml:6:33: rules[0].keywords[1] (rule "brand"): the keyword '
        f"{keyword!r} cannot be matched: expected a word or phrase with a letter or digit"
        if keyword != '"' else
        "listen.yaml:6:33: rules[0].keywords[1] (rule \"brand\"): the keyword '\"' cannot be matched: expected a "
        "word or phrase between \" and \""
    ]


# A query that does not parse is an error at its line and column


def test_an_unclosed_parenthesis_is_an_error_at_the_end_of_the_query() -> None:
    text = BASE.replace("(refund OR rude)'", "(refund OR rude'")
    query = '"Spoke & Chain" AND (refund OR rude'
    assert problems(text) == [
        f'listen.yaml:9:48: rules[1].query: rule "complaints": query "{query}" at column 36: '
        "expected ')' but the query ended"
    ]
    assert text.splitlines()[8][47] == "'"  # column 48: just after the query, on its closing quote


def test_and_or_is_an_error_at_the_or() -> None:
    text = BASE.replace("(refund OR rude)", "(refund AND OR rude)")
    assert problems(text) == [
        'listen.yaml:9:45: rules[1].query: rule "complaints": query "\\"Spoke & Chain\\" AND (refund AND OR rude)" '
        "at column 33: expected a word, \"phrase\", field:value, NOT or '(' but found OR".replace('\\"', '"')
    ]
    assert text.splitlines()[8][44:46] == "OR"


def test_the_column_counts_yaml_escapes_in_a_double_quoted_query() -> None:
    text = BASE.replace("""query: '"Spoke & Chain" AND (refund OR rude)'""",
                        r'''query: "\"Spoke \x26 Chain\" AND (refund OR OR rude)"''')
    (problem,) = problems(text)
    assert problem.startswith("listen.yaml:9:49: rules[1].query: ")
    assert text.splitlines()[8][48:50] == "OR"


def test_the_line_and_column_of_a_query_written_as_a_block() -> None:
    text = BASE.replace("""query: '"Spoke & Chain" AND (refund OR rude)'""",
                        'query: |\n      "Spoke & Chain"\n      AND (refund OR rude')
    (problem,) = problems(text)
    assert problem.startswith("listen.yaml:11:26: rules[1].query: ")
    assert problem.endswith("expected ')' but the query ended")


def test_bad_excludes_are_errors_where_they_are_and_every_bad_rule_is_listed() -> None:
    text = BASE.replace('["giveaway"]', '["giveaway", "NOT"]').replace('exclude: ["spam"]', 'exclude: ["spam AND"]')
    text = text.replace("(refund OR rude)", "(refund OR rude))")
    assert problems(text) == [
        "listen.yaml:9:49: rules[1].query: rule \"complaints\": query \"\"Spoke & Chain\" AND (refund OR rude))\" at "
        "column 37: expected a '(' before it but found ')'",
        "listen.yaml:10:31: rules[1].exclude[1] (rule \"complaints\"): query \"NOT\" at column 4: expected a word, "
        "\"phrase\", field:value, NOT or '(' but the query ended",
        "listen.yaml:11:20: exclude[0]: query \"spam AND\" at column 9: expected a word, \"phrase\", "
        "field:value, NOT or '(' but the query ended",
    ]


def test_query_errors_are_listed_with_the_other_problems() -> None:
    text = BASE.replace("(refund OR rude)", "(refund OR rude")
    text = text.replace("  from_address: alerts@spokeandchain.example\n", "")
    assert problems(text) == [
        "listen.yaml:9:48: rules[1].query: rule \"complaints\": query \"\"Spoke & Chain\" AND (refund OR rude\" at "
        "column 36: expected ')' but the query ended",
        "listen.yaml:20: alerts: expected settings, one 'name: value' per line below it, got nothing",
    ]


def test_a_rule_no_mention_could_be_found_by_is_an_error() -> None:
    text = BASE.replace("(refund OR rude)", "").replace('"Spoke & Chain" AND ', "NOT source:reddit")
    (problem,) = problems(text)
    assert problem.startswith('listen.yaml:9:13: rules[1].query: rule "complaints": query "NOT source:reddit" needs')


# Values that crashed instead of being named


@pytest.mark.parametrize("zone", ["A" * 300, "Europe/" + "x" * 5000, "Europe/Lisbon\n", "/etc/localtime", "..",
                                  "Europe/../../etc", "Europe\x00Lisbon"],
                         ids=["300 letters", "5000 letters", "newline", "absolute path", "dots", "parent", "NUL"])
def test_a_bad_time_zone_is_an_error_at_its_line(zone: str) -> None:
    text = BASE.replace("timezone: Europe/Lisbon", "timezone: " + quoted(zone))
    (problem,) = problems(text)
    assert problem.startswith("listen.yaml:19: recipients[0].timezone (recipient \"Maria\"): expected an IANA time "
                              "zone such as Europe/Lisbon, got ")
    assert len(problem) < 200


@pytest.mark.parametrize("name", ["=?UTF-8?B?U3Bva2U=?=", "Spoke =?utf-8?q?=0D=0ABcc:_x@evil.example?= Chain",
                                  "Spoke\r\nBcc: x@evil.example", "Spoke \u202eniahC"],
                         ids=["B encoded word", "Q encoded word", "CRLF", "right-to-left override"])
def test_a_business_name_that_email_headers_would_decode_or_break_is_an_error(name: str) -> None:
    text = BASE.replace("name: Spoke & Chain", "name: " + quoted(name))
    (problem,) = problems(text)
    assert problem.startswith("listen.yaml:2: business.name: the name holds ")


def test_unicode_in_a_business_name_is_fine() -> None:
    assert parse_config(BASE.replace("name: Spoke & Chain", "name: Café Ñandú 東京 = ? ok")).business.name == \
        "Café Ñandú 東京 = ? ok"


BOMB = "".join(
    f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}" if i else '"lol"'] * 9) + "]\n" for i in range(9)
)


def test_an_alias_bomb_is_one_short_error() -> None:
    text = BASE.replace('exclude: ["spam"]', "exclude: *b8").replace("business:", BOMB + "business:", 1)
    assert len(text) < 3000
    started = time.perf_counter()
    assert problems(text) == [
        "listen.yaml:1:5: a value starting with '&' is an anchor in YAML, which listen.yaml does not allow: "
        "write the value out, or put it in quotes if the '&' belongs to it"
    ]
    assert time.perf_counter() - started < 1


def test_an_alias_is_refused_where_it_is() -> None:
    text = BASE.replace('exclude: ["spam"]', "exclude: *spam")
    assert problems(text) == [
        "listen.yaml:11:10: a value starting with '*' is an alias in YAML, which listen.yaml does not allow: "
        "write the value out, or put it in quotes if the '*' belongs to it"
    ]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert problems("a: " + "[" * 5000 + "]" * 5000) == ["listen.yaml: nested too deeply to be a configuration"]


def test_error_messages_stay_short_whatever_the_file_holds() -> None:
    many = "".join(f"unknown{i}: {'x' * 1000}\n" for i in range(200))
    found = problems(BASE.replace("name: Maria", "name: " + "M" * 100_000) + many)
    assert len(found) == 51
    assert found[-1] == "listen.yaml: and 151 more problems"
    assert max(map(len, found)) <= 1000
    assert sum(map(len, found)) < 20_000
    assert found[0] == ("listen.yaml:16: recipients[0].name: expected 1-64 letters, digits, spaces, '.', '_' or '-', "
                        f"got {'M' * 60!r}… (100000 characters)")


def test_a_huge_file_is_refused_before_parsing() -> None:
    assert problems("#" * 1_000_001) == ["listen.yaml: 1000001 characters: a configuration holds at most 1000000"]


# '$' accepted a trailing newline (issue 14 finding 9)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('phone: "+351912345678"', 'phone: "+351912345678\\n"',
         'listen.yaml:18: recipients[0].phone (recipient "Maria"): expected a phone'),
        ("email: maria@spokeandchain.example", 'email: "maria@spokeandchain.example\\n"',
         'listen.yaml:17: recipients[0].email (recipient "Maria"): expected an email'),
        ("- name: Maria", '- name: "Maria\\n"', "listen.yaml:16: recipients[0].name: expected 1-64"),
        ("  from_address: alerts@spokeandchain.example",
         '  from_address: alerts@spokeandchain.example\n  action_base_url: "https://x.example/api\\n"',
         "listen.yaml:22: alerts.action_base_url: expected an http(s) URL"),
        ("- name: brand", '- name: "brand\\n"', "listen.yaml:4: rules[0].name: expected 1-64"),
    ],
)
def test_a_trailing_newline_is_refused(old: str, new: str, where: str) -> None:
    (problem,) = problems(BASE.replace(old, new))
    assert problem.startswith(where)


@pytest.mark.parametrize(
    ("network", "option", "where"),
    [
        ("reddit", 'subreddits: ["lisbon\\n"]', "networks.reddit.subreddits"),
        ("reddit", 'user_agent: "python:x:0.1 (by /u/someone)\\n"', "networks.reddit.user_agent"),
        ("stackexchange", 'sites: ["coffee\\n"]', "networks.stackexchange.sites"),
        ("mastodon", 'hashtags: ["coffee\\n"]', "networks.mastodon.hashtags"),
    ],
)
def test_a_trailing_newline_in_a_network_option_is_refused(network: str, option: str, where: str) -> None:
    text = BASE.replace("networks:\n", f"networks:\n  {network}:\n    {option}\n")
    (problem,) = problems(text)
    assert problem.startswith(f"listen.yaml:14: {where}: ")


def test_a_key_written_twice_is_an_error_not_silently_the_last_one() -> None:
    text = BASE.replace('exclude: ["spam"]\n', 'exclude: ["spam"]\nrules: []\n').replace(
        "    group: brand\n    query:", "    group: brand\n    group: product\n    query:")
    assert problems(text) == [
        "listen.yaml:9:5: 'group' is already set at line 8: write each key once",
        "listen.yaml:13:1: 'rules' is already set at line 3: write each key once",
    ]
