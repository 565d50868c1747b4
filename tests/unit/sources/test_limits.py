"""Which poll interval each network's published limits allow for a configuration."""

from __future__ import annotations

from chalicelib.config import parse_config
from chalicelib.sources.limits import Limit, allowed_intervals, allowed_minutes, describe, statements

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
        "Hacker News: every minute for your 1 term (1 request a poll)",
    ]
