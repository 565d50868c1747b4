"""What the owner sees on the local stack: a failed reply's page says what to do in words."""

from __future__ import annotations

import html
import re

import pytest

from offline.stack import LocalStack
from tests.integration.test_sms_replies_on_the_stack import Texting, github_alert, posted  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def test_a_reply_whose_token_is_missing_says_run_make_secrets_on_the_page(
    github_alert: Texting, stack: LocalStack, replay  # noqa: F811
) -> None:
    from tests.integration.test_assign_and_mute_thread import FORM, link_in

    text = stack.sent_emails()[0].get_body(("plain",)).get_content()
    path = link_in(text, "Reply")
    page = github_alert.client.http.get(path).body.decode()
    key = re.search(r'name="key" value="([A-Za-z0-9_-]+)"', page).group(1)  # type: ignore[union-attr]
    from aws_lambda_powertools.utilities import parameters

    stack.client("ssm").delete_parameter(Name="/social-listening/test/github-token")
    parameters.clear_caches()  # as a new container would (the Lambda keeps a secret 5 minutes)
    failed = github_alert.client.http.post(path, headers=FORM, body=f"text=Sorry&key={key}")
    body = html.unescape(failed.body.decode())
    assert failed.status_code == 502
    assert "GitHub replies need the token: run `make secrets`, then send the reply again." in body
    assert "SSM parameter" not in body and "github:" not in body
    assert posted(replay) == []


def test_not_relevant_offers_only_exclusions_that_spare_the_weeks_other_mentions(
    stack: LocalStack, store, replay, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from chalice.test import Client

    from app import app
    from chalicelib.networks.hackernews.emulator import story_hit
    from chalicelib.runtime import runtime
    from tests.integration.conftest import make_config
    from tests.integration.test_pipeline import Clock, pipeline_for

    now = int(time.time())
    replay.add_items("hackernews", [
        story_hit(901, now - 600, "Bean There or the Copenhagen roasters: which is better?"),
        story_hit(902, now - 590, "Bean There concert tickets for sale"),
    ])
    config = make_config(replay, tmp_path)
    clock = Clock()
    pipeline = pipeline_for(config, store, clock)
    pipeline.run_cycle()
    store.set_mention_state("hackernews#902", "not_relevant")  # the owner said so earlier this week
    replay.add_items("hackernews", [story_hit(903, now - 60, "Bean There opens a concert venue in Copenhagen")])
    clock.offset += 600
    pipeline.run_cycle()
    text = stack.sent_emails()[-1].get_body(("plain",)).get_content()
    assert "Bean There opens a concert venue in Copenhagen" in text
    token = re.search(r"Not relevant: http://127\.0\.0\.1:8000/a/(\S+)", text).group(1)  # type: ignore[union-attr]

    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as client:
        page = client.http.post(f"/a/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"},
                                body="").body.decode()
    runtime.cache_clear()
    labels = re.findall(r'<button type="submit">([^<]+)</button>', page)
    assert labels == ["Exclude concert from “brand” (would have removed 1 other mention this week, it marked not "
                      "relevant)"]  # not copenhagen: it would have removed 901, which is still to answer


def test_the_weeks_mentions_of_a_rule_are_those_stored_in_the_last_seven_days_that_matched_it(
    stack: LocalStack, store
) -> None:
    import datetime as dt
    import time

    from chalicelib.model import MatchedMention, Mention, RuleMatch
    from chalicelib.store import Store

    def matched(native_id: str, *rules: str) -> MatchedMention:
        mention = Mention("hackernews", native_id, f"https://news.ycombinator.com/item?id={native_id}",
                          "Bean There", dt.datetime.now(dt.UTC))
        return MatchedMention(mention, tuple(RuleMatch(rule, "brand", False) for rule in rules))

    eight_days_ago = Store(stack.client("dynamodb"), store.table, clock=lambda: time.time() - 8 * 86400)
    eight_days_ago.store_new_mentions([matched("1", "brand")], "old-job", 0)
    store.store_new_mentions([matched("2", "brand"), matched("3", "brand2"), matched("4", "product", "brand")],
                             "new-job", 0)
    week = store.rule_mentions_since("brand", time.time() - 7 * 86400)
    assert sorted(m.key for m in week) == ["hackernews#2", "hackernews#4"]
    (first,) = store.rule_mentions_since("brand", time.time() - 7 * 86400, limit=1)
    assert first.key in {"hackernews#2", "hackernews#4"}
