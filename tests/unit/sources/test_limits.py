"""Which poll interval each network's published limits allow for a configuration."""

from __future__ import annotations

from chalicelib.config import parse_config
from chalicelib.networks import source_class
from chalicelib.pipeline import Pipeline
from chalicelib.rules import compile_rules
from chalicelib.sources.limits import (
    Limit,
    allowed_intervals,
    allowed_minutes,
    describe,
    poll_minutes,
    statements,
)
from chalicelib.store.memory import MemoryStore

CONFIG = """\
business: {{name: Bean There Café}}
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
networks:
{networks}recipients:
  - {{name: Maria, email: maria@beanthere.example}}
alerts: {{from_address: alerts@beanthere.example, action_base_url: "http://127.0.0.1:8000"}}
secrets: {{signing_key_parameter: /k}}
"""
NETWORKS = """\
  hackernews: {}
  reddit: {user_agent: "python:bean-there:0.1 (by /u/beanthere)", subreddits: [lisbon]}
  github: {}
  youtube: {key_parameter: /yt}
  stackexchange: {sites: [stackoverflow, coffee]}
  mastodon: {instances: ["https://mastodon.social"], hashtags: [coffee]}
  devto: {}
"""
TERMS = [f"term {n}" for n in range(9)]


def intervals(networks: str = NETWORKS, terms: list[str] = TERMS) -> dict[str, tuple[int, int]]:
    config = parse_config(CONFIG.format(networks=networks), "listen.yaml")
    return {a.network: (a.requests_per_poll, a.minutes) for a in allowed_intervals(config, terms)}


def test_each_network_gets_the_interval_its_published_limits_allow_for_nine_terms() -> None:
    assert intervals() == {
        "hackernews": (1, 1),  # one by-date listing for 9 terms; Algolia allows 10,000 an hour
        "reddit": (3, 1),  # one OR search for 9 terms + new posts and comments of the subreddits; 100 a minute
        "github": (2, 1),  # 5 + 4 terms; 10 searches a minute without a token
        "youtube": (1, 16),  # one | search; 90 of the 100 search calls a day: 1440 / 90 = 16 minutes
        "stackexchange": (2, 12),  # each site's new questions once; 250 of 300 a day without a key: 125 polls
        "mastodon": (10, 1),  # 9 searches + 1 hashtag on one instance; 300 per 5 minutes
        "devto": (1, 1),  # no published limit
    }


def test_more_terms_slow_only_the_networks_that_cannot_combine_them() -> None:
    many = [f"term {n}" for n in range(100)]
    got = intervals(terms=many)
    assert got["github"] == (20, 2)  # 20 searches of 5 terms, 10 a minute
    assert got["stackexchange"] == (2, 12)  # the list of new questions costs the same for 100 terms
    assert got["youtube"] == (10, 160)  # 10 searches of 10 terms: every 160 minutes
    assert got["reddit"][0] <= 10 and got["reddit"][1] == 1


def test_a_github_token_and_a_stack_apps_key_raise_the_limits() -> None:
    got = intervals("  github: {token_parameter: /gh}\n  stackexchange: {key_parameter: /se, sites: [a, b]}\n",
                    [f"term {n}" for n in range(100)])
    assert got == {"github": (20, 1), "stackexchange": (2, 1)}


def test_the_minutes_are_the_slowest_of_every_limit_rounded_up_to_a_whole_minute() -> None:
    lobsters = (Limit(30, 60, ""), Limit(100, 600, ""), Limit(400, 3600, ""))
    assert allowed_minutes(6, lobsters) == 1  # 6 x 60 = 360 an hour
    assert allowed_minutes(7, lobsters) == 2  # 7 x 60 = 420 > 400 an hour
    assert allowed_minutes(0, ()) == 1


def test_the_statement_names_the_network_interval_terms_and_a_schedule_the_limits_will_slow() -> None:
    config = parse_config(CONFIG.format(networks=NETWORKS), "listen.yaml")
    youtube, devto = (a for a in allowed_intervals(config, TERMS) if a.network in ("youtube", "devto"))
    assert describe(youtube) == "YouTube: every 16 minutes for your 9 terms (1 request a poll)"
    assert describe(youtube, poll_minutes=5) == (
        "YouTube: every 16 minutes for your 9 terms (1 request a poll); listen.yaml asks every 5 min: "
        "the network's limits will slow it down")
    assert describe(devto) == "DEV: every minute for your 9 terms (1 request a poll; no published limit)"


def test_the_terms_default_to_those_the_rules_search_for() -> None:
    config = parse_config(CONFIG.format(networks="  hackernews: {}\n"), "listen.yaml")
    (allowance,) = allowed_intervals(config)
    assert (allowance.terms, allowance.requests_per_poll, allowance.minutes) == (1, 1, 1)


def test_make_check_gets_one_line_per_enabled_network_against_the_configured_schedule() -> None:
    networks = "  youtube: {key_parameter: /yt}\n  hackernews: {}\n"
    text = CONFIG.format(networks=networks) + "schedule: {poll_minutes: 5}\n"
    assert statements(parse_config(text, "listen.yaml")) == [
        "YouTube: every 16 minutes for your 1 term (1 request a poll); listen.yaml asks every 5 min: "
        "the network's limits will slow it down",
        "Hacker News: every minute for your 1 term (1 request a poll); polled every 5 minutes, as listen.yaml asks",
    ]
    assert statements(parse_config(CONFIG.format(networks=networks), "listen.yaml"))[1] == (
        "Hacker News: every minute for your 1 term (1 request a poll)")  # no poll_minutes: as the limits allow


def test_the_scheduler_polls_as_often_as_the_limits_allow_unless_listen_yaml_says_less_often() -> None:
    config = parse_config(CONFIG.format(networks=NETWORKS), "listen.yaml")
    assert poll_minutes(config, TERMS) == {"hackernews": 1, "reddit": 1, "github": 1, "youtube": 16,
                                           "stackexchange": 12, "mastodon": 1, "devto": 1}
    slower = parse_config(CONFIG.format(networks=NETWORKS) + "schedule: {poll_minutes: 5}\n", "listen.yaml")
    assert poll_minutes(slower, TERMS) == {"hackernews": 5, "reddit": 5, "github": 5, "youtube": 16,
                                           "stackexchange": 12, "mastodon": 5, "devto": 5}


def due_intervals(schedule: str = "") -> dict[tuple[str, str], float]:
    rules = """  - {name: complaints, group: brand, keywords: ["Bean Urgent"], urgent: true}
"""
    config = parse_config(CONFIG.format(networks=NETWORKS).replace("rules:\n", "rules:\n" + rules) + schedule,
                          "listen.yaml")
    matcher = compile_rules(config.rule_specs(), exclude=config.exclude)
    sources = {network: source_class(network) for network in config.enabled_networks()}
    store = MemoryStore(clock=lambda: 1e9)  # no task ran yet, every network healthy
    pipeline = Pipeline(config, store, sources, matcher, {}, None, clock=lambda: 1e9)  # type: ignore[arg-type]
    due, _ = pipeline.due_tasks()
    return {(t.network, t.query): t.interval_seconds for t in due}


def test_the_due_tasks_take_each_networks_interval_from_its_limits() -> None:
    got = due_intervals()
    assert got[("hackernews", "bean there")] == got[("reddit", "bean there")] == 60.0  # limits allow a minute
    assert got[("youtube", "bean there")] == 16 * 60.0  # one | search, 90 a day
    assert got[("stackexchange", "bean there")] == 12 * 60.0  # each site's new questions, 250 a day
    assert got[("devto", "*")] == 60.0  # no published limit
    assert got[("youtube", "bean urgent")] == got[("stackexchange", "bean urgent")] == 60.0  # urgent_poll_minutes
    slower = due_intervals("schedule: {poll_minutes: 5}\n")
    assert slower[("hackernews", "bean there")] == 300.0
    assert slower[("devto", "*")] == 60.0  # a stream read for urgent terms too: urgent_poll_minutes
    assert slower[("youtube", "bean there")] == 16 * 60.0  # the limits still win
    assert slower[("hackernews", "bean urgent")] == 60.0


def test_the_meta_networks_poll_every_minute_within_200_calls_an_hour() -> None:
    networks = ('  instagram: {ig_user_id: "17841405822304914", token_parameter: /ig}\n'
                '  facebook: {page_id: "1067280970047460", token_parameter: /fb, read_ratings: false}\n')
    # media + tags (120 an hour); feed + tagged, ratings turned off (120 an hour): Meta's 200 calls an hour
    assert intervals(networks) == {"instagram": (2, 1), "facebook": (2, 1)}
