"""listen.yaml validation: every problem named with file, line, field path and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.config import ConfigError, load_config, parse_config

VALID = """\
business:
  name: Bean There Café
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
networks:
  hackernews:
    base_url: http://127.0.0.1:9/hackernews
recipients:
  - name: Maria
    email: maria@beanthere.example
    phone: "+351 912 345 678"
    timezone: Europe/Lisbon
    quiet_hours: {start: "22:00", end: "07:30"}
alerts:
  from_address: alerts@beanthere.example
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, "listen.yaml")
    return err.value.problems


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "listen.example.yaml")
    assert config.business.name == "Bean There Café"
    assert [r.name for r in config.rules] == ["brand", "brand-complaints", "cold-brew", "competitors", "industry"]
    assert config.rules[1].urgent is True
    assert list(config.networks) == [
        "hackernews", "stackexchange", "github", "rss", "lobsters", "devto", "mastodon", "bluesky", "reddit", "youtube",
        "instagram", "facebook",
    ]
    assert list(config.enabled_networks()) == [
        "hackernews", "stackexchange", "github", "rss", "lobsters", "devto", "mastodon",
    ]


def test_valid_config_normalizes_phone_and_builds_keyword_query() -> None:
    config = parse_config(VALID)
    assert config.recipients[0].phone == "+351912345678"
    assert config.rules[0].effective_query == '"Bean There"'
    assert config.networks["hackernews"].base_url == "http://127.0.0.1:9/hackernews"
    assert config.networks["hackernews"].max_pages == 5


def test_missing_field_is_named_with_its_line() -> None:
    text = VALID.replace("    group: brand\n", "")
    assert problems(text) == [
        'listen.yaml:4: rules[0].group (rule "brand"): required field is missing (see listen.example.yaml)'
    ]


def test_wrong_type_names_what_was_given() -> None:
    text = VALID.replace("    base_url: http://127.0.0.1:9/hackernews", "    max_pages: lots")
    assert problems(text) == [
        "listen.yaml:9: networks.hackernews.max_pages: expected a whole number such as 5, got 'lots'"
    ]


def test_unknown_network_lists_the_known_ones() -> None:
    text = VALID.replace("  hackernews:\n", "  myspace:\n")
    assert problems(text)[0].startswith("listen.yaml:8: networks.myspace: unknown network 'myspace' (known: ")
    assert "hackernews" in problems(text)[0]


def test_bad_phone_number_says_the_expected_form() -> None:
    text = VALID.replace('"+351 912 345 678"', '"555-1234"')
    assert problems(text) == [
        'listen.yaml:13: recipients[0].phone (recipient "Maria"): expected a phone number in E.164 form such as '
        "+14155550100, got '555-1234'"
    ]


def test_all_problems_are_reported_at_once_in_file_order() -> None:
    text = VALID.replace("group: brand", "group: brandz").replace("Europe/Lisbon", "Mars/Olympus")
    assert problems(text) == [
        "listen.yaml:5: rules[0].group (rule \"brand\"): expected 'brand', 'product', 'competitor' or 'industry', "
        "got 'brandz'",
        "listen.yaml:14: recipients[0].timezone (recipient \"Maria\"): expected an IANA time zone such as "
        "Europe/Lisbon, got 'Mars/Olympus'",
    ]


def test_misspelled_field_is_refused() -> None:
    text = VALID.replace("    urgent", "").replace("    keywords:", "    keywrods:")
    assert problems(text) == [
        'listen.yaml:6: rules[0].keywrods (rule "brand"): unknown field '
        "(check the spelling against listen.example.yaml)",
    ]


def test_recipient_needs_a_way_to_be_reached() -> None:
    text = VALID.replace("    email: maria@beanthere.example\n", "").replace('    phone: "+351 912 345 678"\n', "")
    assert problems(text) == ["listen.yaml:11: recipients[0]: give an 'email', a 'phone', or both"]


def test_duplicate_rule_names_are_refused() -> None:
    text = VALID.replace("networks:", '  - name: brand\n    group: product\n    keywords: ["x"]\nnetworks:')
    assert problems(text) == [  # at the second definition, not at the top of the file (issue 18)
        "listen.yaml:7: rules[1].name: the rule name 'brand' is already used by the rule at line 4: "
        "give each rule its own name"
    ]


def test_duplicate_recipient_names_are_refused_at_the_second() -> None:
    text = VALID.replace("alerts:", "  - name: Maria\n    email: other@beanthere.example\nalerts:")
    assert problems(text) == [
        "listen.yaml:16: recipients[1].name: the recipient name 'Maria' is already used by the recipient at "
        "line 11: give each recipient its own name"
    ]


def test_broken_yaml_names_the_line() -> None:
    assert problems("business: {name: x\nrules: [") == [
        "listen.yaml:1:11: the '{' that starts here is not closed where expected (at line 2, column 6): "
        "close it with '}' and separate its items with ','"
    ]


def test_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "listen.yaml")
    path = tmp_path / "listen.yaml"
    assert str(err.value) == f"{path}: file not found (set LISTEN_CONFIG or copy listen.example.yaml)"


def test_config_path_is_read_from_the_environment_when_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(VALID, encoding="utf-8")
    monkeypatch.setenv("LISTEN_CONFIG", str(path))
    assert load_config().business.name == "Bean There Café"


def test_quiet_hours_span_midnight() -> None:
    quiet = parse_config(VALID).recipients[0].quiet_hours
    assert quiet is not None
    import datetime as dt

    assert quiet.contains(dt.time(23, 0)) and quiet.contains(dt.time(7, 29))
    assert not quiet.contains(dt.time(7, 30)) and not quiet.contains(dt.time(21, 59))
