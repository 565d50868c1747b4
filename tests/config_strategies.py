"""Hypothesis strategies for listen.yaml: configurations built from ordinary and hostile pieces
(lone '&', quotes, operators, encoded words, CRLF, direction overrides, long strings, bad time
zones...), as the Python data that yaml.safe_dump turns into a file. Used by the property tests
"any configuration parse_config accepts compiles and runs".

Keywords, queries and the business name always mix ordinary and hostile words (they are what
must compile and reach emails); in one configuration in four every other field may be invalid
too, so that most configurations still pass and run."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SENDER = "alerts@beanthere.example"  # verified in moto by the stack fixtures
HOSTILE = [
    "&", '"', "'", "(", ")", "*", "~", "`", ":", "#", "@", "-", "=?", "?=", "=?UTF-8?B?QmNjOiB4QGV2aWwuZXhhbXBsZQ==?=",
    "=?utf-8?q?=0D=0ABcc:_x@evil.example?=", "a\r\nBcc: x@evil.example", "\u202e", "\u200b", "\u0301", "\x00", "\n",
    "x" * 300, "<script>alert(1)</script>", "é", "ß", "ﬁ", "東京", "🙂", "AND", "OR", "NOT", "NEAR/2", "NEAR",
]
WORDS = ["Spoke", "Chain", "Bean", "There", "café", "c++", "AT&T", "acme.com", "#coffee", "@bean", "10:30", "re:invent"]
OPERATORS = ["AND", "OR", "NOT", "(", ")", "NEAR/3", '"', "`", "~", "*", "source:hackernews", "lang:en",
             "type:post", "site:example.com", "sub:coffee", "author:pg", "color:red"]
GOOD_ZONES = ["UTC", "Europe/Lisbon", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Asia/Kathmandu"]
BAD_ZONES = ["A" * 300, "Europe/Lisbon\n", "../../etc/passwd", "/etc/localtime", "Europe", "posixrules", ""]
GOOD_PHONES, BAD_PHONES = ["+351912345678", "+14155550100", "+44 20 7946 0958"], ["555-1234", "+351912345678\n"]
GOOD_EMAILS, BAD_EMAILS = ["maria@beanthere.example", "joao@beanthere.example"], ["maria@x.example\n", "x@y"]

word = st.one_of(st.sampled_from(WORDS), st.from_regex(r"[A-Za-zé]{1,8}", fullmatch=True), st.sampled_from(HOSTILE),
                 st.text(max_size=8))
phrase = st.lists(word, min_size=1, max_size=4).map(" ".join)
structured_query = st.tuples(phrase, phrase).map(lambda pair: f'"{pair[0]}" AND ("{pair[1]}" OR refund)')
quoted_phrase = phrase.map(lambda p: f'"{p}"')
token_query = st.lists(st.one_of(word, st.sampled_from(OPERATORS), quoted_phrase),
                       min_size=1, max_size=8).map(" ".join)
good_name = st.from_regex(r"[A-Za-z][A-Za-z0-9 _.-]{0,12}", fullmatch=True)


class _Picker:
    """Draws ``good`` values, or any of ``good`` and ``bad`` when the configuration is hostile."""

    def __init__(self, draw: st.DrawFn, hostile: bool) -> None:
        self.draw, self.hostile = draw, hostile

    def __call__(self, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
        return self.draw(st.one_of(good, bad) if self.hostile else good)


def _rule(draw: st.DrawFn, pick: _Picker) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": pick(good_name, st.sampled_from(HOSTILE)),
        "group": pick(st.sampled_from(["brand", "product", "competitor", "industry"]), st.just("other")),
        "urgent": draw(st.booleans()),
    }
    if draw(st.booleans()):
        rule["keywords"] = draw(st.lists(phrase, min_size=1, max_size=3))
    else:
        rule["query"] = pick(structured_query, token_query)
    if draw(st.booleans()):
        rule["exclude"] = [pick(quoted_phrase, token_query) for _ in range(draw(st.integers(0, 2)))]
    if draw(st.booleans()):
        rule["daily_cap"] = pick(st.integers(min_value=1, max_value=5), st.just(0))
    return rule


def _recipient(draw: st.DrawFn, pick: _Picker) -> dict[str, Any]:
    recipient: dict[str, Any] = {"name": pick(good_name, st.sampled_from(HOSTILE)),
                                 "timezone": pick(st.sampled_from(GOOD_ZONES), st.sampled_from(BAD_ZONES))}
    reach = pick(st.sampled_from(["email", "phone", "both"]), st.just("neither"))
    if reach in ("email", "both"):
        recipient["email"] = pick(st.sampled_from(GOOD_EMAILS), st.sampled_from(BAD_EMAILS))
    if reach in ("phone", "both"):
        recipient["phone"] = pick(st.sampled_from(GOOD_PHONES), st.sampled_from(BAD_PHONES))
    if draw(st.booleans()):
        start, end = draw(st.times()), draw(st.times())
        recipient["quiet_hours"] = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    if draw(st.booleans()):
        recipient["sms_per_hour"] = pick(st.integers(min_value=1, max_value=60), st.sampled_from([0, 61]))
    if draw(st.booleans()):
        recipient["weekly_digest"] = pick(st.sampled_from(["monday", "sunday"]), st.just("someday"))
    return recipient


@st.composite
def configs(draw: st.DrawFn, *, hackernews_url: str, signing_key_parameter: str) -> dict[str, Any]:
    """A configuration as data: always the verified sender, the replay server and the test signing key."""
    pick = _Picker(draw, hostile=draw(st.integers(0, 3)) == 0)
    rules = [_rule(draw, pick) for _ in range(draw(st.integers(1, 3)))]
    recipients = [_recipient(draw, pick) for _ in range(draw(st.integers(1, 2)))]
    if not pick.hostile:  # names unique: a repeated name is refused (rightly) and runs nothing
        for number, item in enumerate([*rules, *recipients]):
            item["name"] = f"{item['name'][:10]}{number}"
    config: dict[str, Any] = {
        "business": {"name": draw(st.one_of(phrase, st.sampled_from(["Spoke & Chain", "Bean There Café"])))},
        "rules": rules,
        "networks": {"hackernews": {"base_url": hackernews_url, "timeout_seconds": 2}},
        "recipients": recipients,
        "alerts": {"from_address": SENDER, "action_base_url": "http://127.0.0.1:8000",
                   "email_priority": draw(st.integers(min_value=0, max_value=101)),
                   "urgent_priority": draw(st.integers(min_value=1, max_value=101))},
        "secrets": {"signing_key_parameter": signing_key_parameter},
    }
    if draw(st.booleans()):
        config["exclude"] = [pick(quoted_phrase, token_query) for _ in range(draw(st.integers(0, 2)))]
    return config


def texts_to_find(config: dict[str, Any]) -> list[str]:
    """Titles for mentions that the configuration's keyword rules match (and its business name)."""
    titles = [str(config["business"]["name"])]
    for rule in config["rules"]:
        titles += [f"Today at {keyword}, again" for keyword in rule.get("keywords", [])]
        if "query" in rule:
            titles.append(str(rule["query"]).replace('"', " ").replace("`", " ") + " refund")
    return titles
