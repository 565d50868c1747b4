"""Every registered network has all its parts, in its one folder: a complete, consistent spec, a
connector, a replier when it can reply (else a manual-reply link), an emulator the replay server
serves, and a contract corpus whose README cites its sources."""

from __future__ import annotations

import http.client
import re
from pathlib import Path

import pytest

from chalicelib.networks import NETWORKS, emulator_class, replier_class, source_class, spec, specs
from chalicelib.networks.spec import Limit, NetworkSpec
from chalicelib.sources.base import Capabilities, SourceOptions
from offline.replay import make_server
from tests.contracts import corpus

ROOT = Path(__file__).resolve().parents[3] / "chalicelib" / "networks"
HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


def test_the_registry_names_every_network_folder_and_nothing_else() -> None:
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert set(NETWORKS) == folders
    assert all(NETWORKS[name] == f"chalicelib.networks.{name}" for name in NETWORKS)
    assert [s.name for s in specs()] == list(NETWORKS)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_spec_is_complete_and_consistent(name: str) -> None:
    spec_is_complete(name)


def spec_is_complete(name: str) -> None:
    network = spec(name)
    assert isinstance(network, NetworkSpec) and network.name == name and network.label
    for target, part in ((network.source, "source"), (network.emulator, "emulator"), (network.replier, "replier")):
        if target is not None:
            assert target.startswith(f"{NETWORKS[name]}.{part}:"), target
    assert all(len(unit) > 0 for unit in network.reach_unit) and len(network.reach_unit) == 2
    assert network.sites is None or all(HOST.match(site) for site in network.sites)
    assert (network.replier is None) == (network.reply_limit is None)
    assert (network.replier is None) == (network.manual_reply is not None)  # one way to reply, exactly
    limits = network.limits({})
    assert all(isinstance(limit, Limit) and limit.requests > 0 and limit.seconds > 0
               and limit.doc.startswith("https://") for limit in limits)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_source_is_a_connector_named_by_its_spec(name: str) -> None:
    source_is_consistent(name)


def source_is_consistent(name: str) -> None:
    network, cls = spec(name), source_class(name)
    assert (cls.name, cls.display_name) == (name, network.label)
    assert isinstance(cls.capabilities, Capabilities) and issubclass(cls.options_model, SourceOptions)
    assert callable(getattr(cls, "fetch", None))
    assert cls.capabilities.replies == (network.replier is not None)
    # every option naming an SSM parameter is a credential of the spec, and the other way round
    options = dict(cls.options_model.model_fields)
    if network.replier is not None:
        replier = replier_class(name)
        assert replier.network == name
        options |= replier.options_model.model_fields
    secret_options = {option for option in options if option.endswith("_parameter")}
    assert {c.option for c in network.credentials} == secret_options
    assert all(c.what for c in network.credentials)
    if network.query_separator is not None:
        assert getattr(cls, "batching", None) is not None  # it combines terms as the spec says


@pytest.mark.parametrize("name", [n for n in NETWORKS if spec(n).replier is None])
def test_a_network_without_a_replier_has_none(name: str) -> None:
    with pytest.raises(KeyError):
        replier_class(name)


def test_every_emulator_is_served_by_the_replay_server() -> None:
    with make_server() as server:
        assert set(server.apis) == set(NETWORKS)
        for name in NETWORKS:
            assert isinstance(server.apis[name], emulator_class(name))
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            connection.request("GET", f"/{name}/")
            body = connection.getresponse().read()
            connection.close()
            assert b"no network" not in body, name  # the network's own answer, not the server's
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/nosuchnetwork/")
        assert b"no network" in connection.getresponse().read()
        connection.close()


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_contract_corpus_is_in_the_folder_and_cites_its_sources(name: str) -> None:
    assert corpus.folder(name) == ROOT / name / "contract"
    corpus_is_cited(name)


def corpus_is_cited(name: str) -> None:
    folder = corpus.folder(name)
    assert (folder / "README.md").is_file() and (folder / "expected.json").is_file()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert re.search(r"https://|\b[0-9a-f]{40}\b", readme)  # a URL or a commit
    payloads = [path.name for path in corpus.payloads(name)]
    assert payloads and [p for p in payloads if p not in readme] == []  # each payload named with its source
    assert set(corpus.expected(name)) <= set(payloads)
    assert name in corpus.networks()
