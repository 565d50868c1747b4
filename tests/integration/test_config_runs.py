"""Property (issue 12): any configuration that parse_config accepts builds the runtime and runs one
poll cycle on the local stack (DynamoDB Local + moto + the replay server), with mentions that its
keyword rules match, so that alerts are composed and sent with its business name and recipients."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, reject, settings
from hypothesis import strategies as st

from chalicelib.config import ConfigError, parse_config
from chalicelib.networks.hackernews.emulator import story_hit
from chalicelib.runtime import build
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.config_strategies import SENDER, configs, texts_to_find
from tests.conftest import SIGNING_KEY, SIGNING_KEY_PARAMETER

pytestmark = pytest.mark.integration
_IDS = itertools.count(1)


@pytest.fixture
def stack_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """The environment pointing at the stack (the same for every example)."""
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    yield stack


# No shrinking: each example is a cycle on the stack (shrinking took minutes); the failing
# configuration is printed as drawn, and tests/unit/test_config_property.py shrinks compile failures.
@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_any_configuration_parse_config_accepts_runs_a_cycle(
    stack_env: LocalStack, replay_server: ReplayServer, data: st.DataObject
) -> None:
    stack = stack_env
    config_data = data.draw(configs(hackernews_url=replay_server.base_url("hackernews"),
                                    signing_key_parameter=SIGNING_KEY_PARAMETER))
    try:
        config = parse_config(yaml.safe_dump(config_data, allow_unicode=True, sort_keys=False))
    except ConfigError:
        reject()  # refused with its reasons (tests/unit/test_config_property.py): only accepted ones count
    table = f"p-{uuid.uuid4().hex[:12]}"
    stack.create_table(table)
    stack.reset_moto()
    stack.prepare_aws(sender=SENDER, signing_key_parameter=SIGNING_KEY_PARAMETER, signing_key=SIGNING_KEY)
    replay_server.reset()
    now = int(time.time())
    replay_server.add_items("hackernews", [story_hit(next(_IDS), now - 60 - n, title, author="someone")
                                           for n, title in enumerate(texts_to_find(config_data))])
    try:
        report = build(config, Store(stack.client("dynamodb"), table), signing_key=SIGNING_KEY.encode()) \
            .pipeline.run_cycle()
    finally:
        stack.client("dynamodb").delete_table(TableName=table)
    assert report.errors == {}
    assert [d for d in report.deliveries if d[2] not in ("sent", "skipped")] == []  # skipped: quiet hours, caps
    event(f"mentions: {'some' if report.new_mentions else 'none'}; deliveries: {len(report.deliveries)}")
