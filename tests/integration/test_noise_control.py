"""Noise control in the cycle: one alert per story, mutes, daily caps that say so."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.networks.lobsters.emulator import lobsters_story
from chalicelib.networks.rss.emulator import alert_entry
from chalicelib.runtime import runtime
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, keys_in, pipeline_for

pytestmark = pytest.mark.integration
ARTICLE = "https://www.timeout.pt/lisboa/en/restaurants/bean-there-cafe"


def test_the_same_story_on_three_networks_is_one_alert(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    now = int(time.time())
    replay.add_items("hackernews", [story_hit(301, now - 300, "Bean There Café is Lisbon's best new roastery",
                                              url=ARTICLE + "?utm_source=hn")])
    replay.add_items("lobsters", [lobsters_story("abc123", now - 200, "Bean There Café review",
                                                 url=ARTICLE + "?ref=lobsters&utm_medium=social")])
    replay.add_items("rss", [alert_entry("bean-there-alert", 77, now - 100,
                                         "Why <b>Bean There Café</b> is great - Time Out", ARTICLE,
                                         "The <b>Bean There Café</b> team roasts twice a week.")])
    extra = (f"  lobsters:\n    base_url: {replay.base_url('lobsters')}\n"
             f"  rss:\n    feeds: [{replay.base_url('rss')}/bean-there-alert]\n")
    config = make_config(replay, tmp_path, networks=extra)
    report = pipeline_for(config, store, Clock()).run_cycle()
    assert report.new_mentions == 3 and report.attached == 2
    assert report.deliveries == [("Maria", "email", "sent", 1)]
    (email,) = stack.sent_emails()
    assert keys_in(email) == ["hackernews#301"]  # the earliest telling leads
    text = email.get_body(("plain",)).get_content()
    assert re.search(r"Also on: Lobsters https://lobste\.rs/s/abc123\S* · RSS / Google Alerts " + re.escape(ARTICLE),
                     text), text


def test_a_story_alerted_in_an_earlier_cycle_is_attached_not_alerted_again(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    now = int(time.time())
    replay.add_items("hackernews", [story_hit(401, now - 300, "Bean There Café opens in Porto", url=ARTICLE)])
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    pipeline.run_cycle()
    replay.add_items("hackernews", [story_hit(402, now - 10, "Bean There Café opens in Porto (repost)",
                                              url=ARTICLE + "?utm_campaign=x")])
    clock.offset += 600
    report = pipeline.run_cycle()
    assert (report.new_mentions, report.attached, report.deliveries) == (1, 1, [])
    assert len(stack.sent_emails()) == 1


def test_muted_authors_are_stored_but_not_alerted(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    now = int(time.time())
    replay.add_items("hackernews", [story_hit(501, now - 60, "Bean There Café sucks, buy my course", author="spammer"),
                                    story_hit(502, now - 50, "Bean There Café flat white review", author="ana")])
    config = make_config(replay, tmp_path, extra="mute:\n  authors: [hackernews:spammer]\n")
    report = pipeline_for(config, store, Clock()).run_cycle()
    assert (report.new_mentions, report.muted) == (2, 1)
    assert keys_in(stack.sent_emails()[0]) == ["hackernews#502"]
    assert store.get_mention("hackernews#501") is not None


def test_daily_cap_holds_the_rest_says_so_and_can_be_raised(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    replay.add_items("hackernews", [comment_hit(600 + i, now - 100 + i, f"Bean There comment number {i} is here",
                                                story_id=600, story_title="x") for i in range(5)])
    config = make_config(replay, tmp_path, cap=2)
    clock = Clock()
    report = pipeline_for(config, store, clock).run_cycle()
    assert report.held_by_cap == {"brand": 3}
    (email,) = stack.sent_emails()
    assert sorted(keys_in(email)) == ["hackernews#603", "hackernews#604"]  # the newest two
    text = email.get_body(("plain",)).get_content()
    notice = re.search(r"Rule “brand” reached its daily cap of 2: 3 more mentions wait for the daily digest\. "
                       r"Raise the cap for today: http://127\.0\.0\.1:8000/a/(\S+)", text)
    assert notice, text

    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as client:
        token = notice.group(1)
        page = client.http.get(f"/a/{token}")
        assert page.status_code == 200 and "Raise the daily cap of “brand”?" in page.body.decode()
        done = client.http.post(f"/a/{token}", headers={"Content-Type": "application/x-www-form-urlencoded"}, body="")
        assert done.status_code == 200 and "“brand” may alert 2 more mentions today." in done.body.decode()
    runtime.cache_clear()

    replay.add_items("hackernews", [comment_hit(700 + i, now - 5 + i, f"Bean There later comment {i} is here",
                                                story_id=600, story_title="x") for i in range(3)])
    clock.offset += 600
    report = pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock).run_cycle()
    assert report.held_by_cap == {"brand": 1}
    assert sorted(keys_in(stack.sent_emails()[1])) == ["hackernews#701", "hackernews#702"]


def test_not_relevant_proposes_exclusions_and_only_an_accepted_one_changes_the_rule(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    replay.add_items("hackernews", [story_hit(801, now - 60, "The Bean There concert tour tickets are sold out")])
    config = make_config(replay, tmp_path)
    clock = Clock()
    pipeline = pipeline_for(config, store, clock)
    pipeline.run_cycle()
    text = stack.sent_emails()[0].get_body(("plain",)).get_content()
    token = re.search(r"Not relevant: http://127\.0\.0\.1:8000/a/(\S+)", text).group(1)  # type: ignore[union-attr]

    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with Client(app, stage_name="dev") as client:
        assert "<h1>Not relevant?</h1>" in client.http.get(f"/a/{token}").body.decode()
        page = client.http.post(f"/a/{token}", headers=form, body="").body.decode()
        assert "<h1>Marked as not relevant</h1>" in page
        choices = re.findall(r'<form method="post" action="/a/([^"]+)"[^>]*>\s*<button type="submit">([^<]+)</button>',
                             page)
        assert [label for _, label in choices] == [
            "Exclude concert from “brand” (would have removed no other mention this week)",
            "Exclude tickets from “brand” (would have removed no other mention this week)"]
        assert store.exclusions() == {}  # nothing changed silently
        done = client.http.post(f"/a/{choices[0][0]}", headers=form, body="").body.decode()
        assert "<h1>Exclusion added</h1>" in done
    runtime.cache_clear()
    assert store.exclusions() == {"brand": ["concert"]}
    stored = store.get_mention("hackernews#801")
    assert stored is not None and stored.state == "not_relevant"

    replay.add_items("hackernews", [story_hit(802, now - 5, "Bean There concert: second date added"),
                                    story_hit(803, now - 4, "Bean There flat white is great")])
    clock.offset += 600
    report = pipeline.run_cycle()
    assert report.new_per_rule == {"brand": 1}
    assert store.get_mention("hackernews#802") is None
