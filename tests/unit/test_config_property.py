"""Property: parse_config raises nothing but ConfigError, with short messages; what it accepts
compiles (the runtime's compiled_rules) and matches text without an error."""

from __future__ import annotations

import datetime as dt

import yaml
from hypothesis import HealthCheck, event, given, settings

from chalicelib.config import ConfigError, compiled_rules, parse_config
from chalicelib.model import Mention
from tests.config_strategies import configs, texts_to_find


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(hackernews_url="http://127.0.0.1:9/hackernews", signing_key_parameter="/x/signing-key"))
def test_what_parse_config_accepts_compiles_and_matches(data: dict) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        config = parse_config(text)
    except ConfigError as err:
        event("refused")
        assert err.problems and all(len(problem) <= 1000 for problem in err.problems)
        return
    event("accepted")
    rules = compiled_rules(config)
    for number, title in enumerate(texts_to_find(data)):
        rules.match(Mention(network="hackernews", native_id=str(number), url="https://news.ycombinator.com/",
                            title=title, text=title, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
