"""Adding a network is one folder and one registry line: a made-up eleventh network ("pigeon"),
written here as one package folder under tmp_path plus one (monkeypatched) registry entry,
flows through config validation, the replay server, a fetch, rule matching, triage (reach in
its unit), noise (its own site), the thread root, the manual-reply link, the stored form,
`make check`'s limits and `make secrets`' credential list, and a whole poll cycle on the store's
in-memory twin, with nothing else edited."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from chalicelib import networks
from chalicelib.config import ConfigError, parse_config
from chalicelib.model import matched_from_dict, matched_to_dict
from chalicelib.networks import thread_root
from chalicelib.sources.base import Budget
from tests import builders

FOLDER = {
    "__init__.py": '''
from chalicelib.networks.manual import web_link
from chalicelib.networks.spec import Credential, Limit, NetworkSpec

SPEC = NetworkSpec(
    name="pigeon",
    label="Pigeon Post",
    source="pigeonpost.source:Pigeon",
    emulator="pigeonpost.emulator:PigeonAPI",
    reach_unit=("coo", "coos"),
    sites=("pigeon.example",),
    thread_keys=("loft",),
    limits=lambda options: (Limit(60.0, 3600.0, "https://pigeon.example/docs/limits"),),
    credentials=(Credential("token_parameter", "loft token"),),
    manual_reply=web_link,
)
''',
    "source.py": '''
import datetime as dt
from typing import ClassVar

from chalicelib.model import Mention
from chalicelib.sources.base import Capabilities, FetchResult, SourceBase, SourceOptions
from chalicelib.sources.http import decode_json
from pigeonpost import SPEC


class PigeonOptions(SourceOptions):
    token_parameter: str | None = None


class Pigeon(SourceBase):
    name: ClassVar[str] = SPEC.name
    display_name: ClassVar[str] = SPEC.label
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=False)
    options_model: ClassVar[type[SourceOptions]] = PigeonOptions

    def fetch(self, query, cursor, budget):
        resp = self.http.request("GET", self.options.base_url + "/search", params={"q": query}, budget=budget)
        notes = decode_json(self.name, resp)["notes"]
        mentions = [Mention(network=self.name, native_id=n["id"], url=n["url"], text=n["text"],
                            created_at=dt.datetime.fromtimestamp(n["at"], tz=dt.UTC), author_handle=n["by"],
                            reach=n["coos"], links=tuple(n["links"]), thread={"loft": n["loft"]})
                    for n in notes]
        return FetchResult(mentions, {"seen": [n["id"] for n in notes]}, pages=1)
''',
    "emulator.py": '''
from offline.replay.server import Request, Response


class PigeonAPI:
    def handle(self, request: Request, items):
        if request.path != "/search":
            return Response.json({"error": "not found"}, 404)
        q = (request.param("q") or "").lower()
        return Response.json({"notes": [n for n in items if q in n["text"].lower()]})
''',
    "contract/README.md": "# Pigeon Post\n\n`note.json`: made up for this test (https://pigeon.example/docs).\n",
    "contract/expected.json": '{"note.json": {"mentions": 1}}\n',
    "contract/note.json": '{"notes": []}\n',
}

CONFIG = """\
business: {{name: Bean There Café}}
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
networks:
  {network}: {{base_url: "{base_url}", token_parameter: /social-listening/pigeon/token}}
recipients:
  - {{name: Maria, email: maria@beanthere.example}}
alerts: {{from_address: alerts@beanthere.example, action_base_url: "http://127.0.0.1:8000"}}
secrets: {{signing_key_parameter: /social-listening/signing-key}}
"""
NOW = 1_800_000_000


@pytest.fixture
def pigeon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The one folder (a package on sys.path) and the one registry line."""
    folder = tmp_path / "pigeonpost"
    for name, text in FOLDER.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text.lstrip(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(networks.NETWORKS, "pigeon", "pigeonpost")
    return folder


def note(native_id: str, text: str, **extra: object) -> dict[str, object]:
    return {"id": native_id, "url": f"https://pigeon.example/n/{native_id}", "text": text, "at": NOW,
            "by": "rui", "coos": 1200, "loft": "loft-7",
            "links": ["https://pigeon.example/lofts/7", "https://blog.example/bean-there-review"], **extra}


def test_a_twelfth_name_is_still_refused_by_config_validation(pigeon: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown network 'crow'.*pigeon"):
        parse_config(CONFIG.format(network="crow", base_url="http://127.0.0.1:1/crow"), "listen.yaml")


def test_the_eleventh_network_flows_through_everything_from_its_folder(pigeon: Path) -> None:
    from chalicelib.alerts import network_name
    from chalicelib.networks import can_reply, reply_limit_text
    from chalicelib.noise import story_urls
    from chalicelib.rules import compile_rules
    from chalicelib.runtime import build_sources
    from chalicelib.sources.limits import statements
    from chalicelib.triage import triage
    from infra.secret_setup import needed_secrets
    from offline.replay import make_server
    from tests.conftest import MemoryState

    with make_server() as server:  # the replay server found its emulator through the registry
        server.add_items("pigeon", [note("n1", "Bean There has the best pastel de nata"),
                                    note("n2", "nothing about coffee here")])
        config = parse_config(CONFIG.format(network="pigeon", base_url=server.base_url("pigeon")), "listen.yaml")
        assert list(config.enabled_networks()) == ["pigeon"]

        sources = build_sources(config, MemoryState(), builders.secrets({}))
        result = sources["pigeon"].fetch("bean there", None, Budget(deadline=time.monotonic() + 10))
        assert [r.path for r in server.received["pigeon"]] == ["/search"]

    assert [m.native_id for m in result.mentions] == ["n1"]
    mention = result.mentions[0]
    matched = compile_rules(config.rule_specs(), exclude=config.exclude).match_many(result.mentions)
    assert [m.rule_names for m in matched] == [("brand",)]

    judged = triage(mention, matched[0].matches, now=dt.datetime.fromtimestamp(NOW, tz=dt.UTC))
    assert "1.2k coos" in " ".join(judged.reasons)  # reach in the spec's unit
    assert story_urls(mention) == ("https://blog.example/bean-there-review",)  # its own site is not a story
    assert thread_root(mention) == "pigeon:loft-7"
    assert networks.compose_link(mention) == "https://pigeon.example/n/n1"
    assert (can_reply("pigeon"), reply_limit_text("pigeon")) == (False, "")
    assert network_name("pigeon") == "Pigeon Post"

    stored = matched_from_dict(matched_to_dict(matched[0]))
    assert stored.mention == mention and thread_root(stored.mention) == "pigeon:loft-7"

    (line,) = statements(config)  # make check: 1 request a poll against 60 an hour
    assert line.startswith("Pigeon Post: every minute for your 1 term (1 request a poll)")
    secrets = [s.field for s in needed_secrets(config)]
    assert "networks.pigeon.token_parameter" in secrets


def test_the_eleventh_network_has_all_its_parts(pigeon: Path) -> None:
    from tests.unit.networks.test_registry import corpus_is_cited, source_is_consistent, spec_is_complete

    spec_is_complete("pigeon")
    source_is_consistent("pigeon")
    corpus_is_cited("pigeon")
    spec = networks.spec("pigeon")
    assert networks.source_class("pigeon").display_name == spec.label == networks.label("pigeon")
    assert networks.emulator_class("pigeon").__name__ == "PigeonAPI"
    assert not networks.can_reply("pigeon")
    with pytest.raises(KeyError):
        networks.replier_class("pigeon")
    assert networks.reach_label("pigeon", 1) == "1 coo"


def test_the_eleventh_network_runs_through_poll_cycles_on_the_in_memory_store(pigeon: Path) -> None:
    from chalicelib.links import TokenSigner
    from chalicelib.pipeline import Pipeline
    from chalicelib.rules import compile_rules
    from chalicelib.runtime import build_sources
    from chalicelib.store.memory import MemoryStore
    from offline.replay import make_server
    from tests.conftest import MemoryState

    clock = builders.FakeClock(NOW + 60)
    store, email = MemoryStore(clock=clock), builders.Outbox("email")
    with make_server() as server:
        server.add_items("pigeon", [note("n1", "Bean There has the best pastel de nata"),
                                    note("n2", "nothing about coffee here")])
        config = parse_config(CONFIG.format(network="pigeon", base_url=server.base_url("pigeon")), "listen.yaml")
        sources = build_sources(config, MemoryState(), builders.secrets({}), clock)
        pipeline = Pipeline(config, store, sources, compile_rules(config.rule_specs(), exclude=config.exclude),
                            {"email": email, "sms": builders.Outbox("sms")}, TokenSigner(b"k" * 32), clock=clock)
        first = pipeline.run_cycle()
        clock.advance(3600)  # due again; the server still holds n1
        second = pipeline.run_cycle()
        requests = [r.path for r in server.received["pigeon"]]

    assert requests == ["/search", "/search"]
    assert (first.errors, first.tasks_run, first.fetched["pigeon"], first.new_mentions) == ({}, 1, 1, 1)
    assert first.deliveries == [("Maria", "email", "sent", 1)]
    assert email.keys() == [["pigeon#n1"]]
    (bundle,) = email.sent
    assert bundle.items[0].mention.item.mention.url == "https://pigeon.example/n/n1"
    stored = store.get_mention("pigeon#n1")
    assert stored is not None and thread_root(stored.item.mention) == "pigeon:loft-7"
    assert (second.tasks_run, second.new_mentions, second.deliveries) == (1, 0, [])  # stored and alerted once
    assert store.all_health()["pigeon"].mentions_fetched == 2
