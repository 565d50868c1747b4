"""Instagram through whole poll cycles on the store's in-memory twin: a comment that names no rule
term is still a mention ("your Instagram", brand group), alerted once; a webhook delivery of the
same comment is the same key; and the owner is told once, a week before the token expires."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from chalicelib.config import parse_config
from chalicelib.links import TokenSigner
from chalicelib.networks.instagram.emulator import IG_USER_ID, InstagramAPI, comments_event, instagram_media
from chalicelib.networks.instagram.webhook import parse
from chalicelib.pipeline import Pipeline
from chalicelib.rules import compile_rules
from chalicelib.runtime import build_sources
from chalicelib.store.memory import MemoryStore
from offline.replay import make_server
from tests import builders
from tests.conftest import MemoryState

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
TOKEN = "/social-listening/instagram/token"
CONFIG = """\
business: {{name: Bean There Café}}
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
networks:
  instagram: {{base_url: "{base_url}", ig_user_id: "{account}", token_parameter: {token}}}
recipients:
  - {{name: Maria, email: maria@beanthere.example}}
alerts: {{from_address: alerts@beanthere.example, action_base_url: "http://127.0.0.1:8000"}}
secrets: {{signing_key_parameter: /social-listening/signing-key}}
"""


class Mailbox(builders.Outbox):
    """The email channel, with the notices it sent (``send_message``)."""

    def __init__(self) -> None:
        super().__init__("email")
        self.notices: list[tuple[EmailMessage, str]] = []

    def send_message(self, message: EmailMessage, to: str) -> str:
        self.notices.append((message, to))
        return f"notice-{len(self.notices)}"


def test_comments_are_alerted_once_as_your_instagram_and_the_token_is_told_a_week_ahead() -> None:
    clock = builders.FakeClock(NOW)
    store, email = MemoryStore(clock=clock), Mailbox()
    with make_server() as server:
        api: Any = server.apis["instagram"]
        assert isinstance(api, InstagramAPI)
        api.data_access_expires_at = NOW + 6 * 86400  # 2027-01-21
        media = instagram_media(1, NOW - 600, "Do you have oat milk?")  # no rule term in it
        server.add_items("instagram", [media])
        config = parse_config(CONFIG.format(base_url=server.base_url("instagram"), account=IG_USER_ID, token=TOKEN),
                              "listen.yaml")
        sources = build_sources(config, MemoryState(), builders.secrets({TOKEN: "ig-page-token"}), clock)
        pipeline = Pipeline(config, store, sources, compile_rules(config.rule_specs(), exclude=config.exclude),
                            {"email": email, "sms": builders.Outbox("sms")}, TokenSigner(b"k" * 32), clock=clock)
        first = pipeline.run_cycle()
        clock.advance(3600)
        second = pipeline.run_cycle()
        [pushed] = parse(comments_event(media, media["comments"]["data"][0]), sources["instagram"])

    key = f"instagram#{media['comments']['data'][0]['id']}"
    assert (first.errors, first.new_mentions, first.deliveries) == ({}, 1, [("Maria", "email", "sent", 1)])
    assert email.keys() == [[key]]
    [item] = email.sent[0].items
    assert [(m.rule, m.group) for m in item.mention.item.matches] == [("your Instagram", "brand")]
    assert (second.new_mentions, second.deliveries) == (0, [])
    assert pushed.key == key  # a webhook delivery of it is the same stored mention
    assert first.health_notices == [("Maria", "instagram", "token")] and second.health_notices == []
    [(notice, to)] = email.notices
    assert to == "maria@beanthere.example"
    assert notice["Subject"] == "Bean There Café listening: reconnect Instagram within a week"
    assert "Instagram: reconnect by running `make connect NETWORK=instagram` before 21 Jan." in notice.get_content()
