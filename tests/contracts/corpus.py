"""The contract corpus: each network's own published payloads, as test data.

Layout, one folder per network, in the network's own folder (``chalicelib/networks/<network>/contract/``,
never deployed):

- payload files (``.json``, ``.xml``, ``.txt``...) taken from public material no one on this
  project wrote: the network's API documentation, its official schemas or lexicons, recorded
  fixtures of well-known client libraries. Reduced or anonymized where needed, shapes exact.
- ``README.md``: for every payload file, its source (repository + path + commit, or URL) and
  what was reduced.
- ``expected.json`` (optional): what a connector must read from a payload, written by hand
  from the source, keyed by file name.

``tests/contracts/test_<network>.py`` runs the network's parser over its whole folder. The
conftest beside this file prints ``contract_<network>_payloads`` and
``contract_<network>_failures`` for every folder.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from chalicelib.networks import NETWORKS

NOT_PAYLOADS = frozenset({"README.md", "expected.json"})
# Further figures a contract test measured (e.g. feed_corpus_crashes), printed by the conftest as "name: value".
FIGURES: dict[str, int] = {}


def folder(network: str) -> Path:
    """The corpus folder of ``network``: ``contract/`` in the network's own folder (its registry package)."""
    found = importlib.util.find_spec(NETWORKS[network])
    assert found is not None and found.origin is not None, network
    return Path(found.origin).parent / "contract"


def networks() -> list[str]:
    """Every registered network that has a corpus folder (one with a README.md naming its sources)."""
    return sorted(name for name in NETWORKS if (folder(name) / "README.md").exists())


def payloads(network: str, suffix: str | None = None) -> list[Path]:
    """The payload files of ``network``'s corpus, sorted by name (optionally one suffix only)."""
    return sorted(p for p in folder(network).iterdir()
                  if p.is_file() and p.name not in NOT_PAYLOADS and not p.name.startswith(".")
                  and (suffix is None or p.suffix == suffix))


def raw(network: str, name: str) -> bytes:
    """The bytes of one payload file of ``network``'s corpus."""
    return (folder(network) / name).read_bytes()


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def expected(network: str) -> dict[str, Any]:
    """``expected.json`` of ``network``: file name -> what the connector must read from it."""
    path = folder(network) / "expected.json"
    return load_json(path) if path.exists() else {}


def unexplained(network: str) -> list[str]:
    """What of ``network``'s corpus is not accounted for: a payload its README.md does not name
    (as `file`) or expected.json does not cover, and an expectation with no payload."""
    readme = (folder(network) / "README.md").read_text(encoding="utf-8")
    names = {path.name for path in payloads(network)}
    covered = set(expected(network))
    return sorted([f"{name}: not named in README.md" for name in names if f"`{name}`" not in readme]
                  + [f"{name}: no entry in expected.json" for name in names - covered]
                  + [f"{name}: in expected.json but no such payload" for name in covered - names])


def expected_with(network: str, key: str) -> list[str]:
    """The payload files whose expectation holds ``key`` ("mentions" for pages, "error" for refusals)."""
    return sorted(name for name, entry in expected(network).items() if key in entry)


def shape(value: Any) -> Any:
    """The structure of a JSON value: dicts keep their keys, lists merge their items' shapes,
    scalars become their JSON type name ("string", "number", "boolean", "null")."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = _merge(merged, shape(item))
        return [merged]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


def _merge(a: Any, b: Any) -> Any:
    """One shape that covers both: objects merge their keys, arrays their items, and
    differing scalars become the set of their type names."""
    if a is None:
        return b
    if b is None:
        return a
    if a == b:
        return a  # the same scalar type (or the same shape) twice is that type, not a set of one
    if isinstance(a, dict) and isinstance(b, dict):
        return {key: _merge(a.get(key), b.get(key)) for key in a.keys() | b.keys()}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0], b[0])]
    return frozenset(_kinds(a) | _kinds(b))


def _kinds(value: Any) -> frozenset[str]:
    if isinstance(value, frozenset):
        return value
    if isinstance(value, dict):
        return frozenset({"object"})
    if isinstance(value, list):
        return frozenset({"array"})
    return frozenset({value})


def shapes_of(values: list[Any]) -> Any:
    """The merged shape of several payloads (e.g. every page of a network's corpus)."""
    merged: Any = None
    for value in values:
        merged = _merge(merged, shape(value))
    return merged


def drift(emulated: Any, documented: Any, where: str = "$") -> list[str]:
    """Where an emulator's payload leaves the documented shape: a key the documented payloads
    never hold, or a value of another JSON type. Empty when the emulator stays inside it.
    ``null`` is accepted where the documented payloads hold a value (optional fields)."""
    problems: list[str] = []
    if isinstance(emulated, dict):
        if not isinstance(documented, dict):
            return [f"{where}: an object where the documentation has {_name(documented)}"]
        for key, value in emulated.items():
            if key not in documented:
                problems.append(f"{where}.{key}: not in the documented payloads")
            else:
                problems.extend(drift(value, documented[key], f"{where}.{key}"))
        return problems
    if isinstance(emulated, list):
        if not isinstance(documented, list):
            return [f"{where}: an array where the documentation has {_name(documented)}"]
        if emulated and emulated[0] is not None and documented and documented[0] is not None:
            problems.extend(drift(emulated[0], documented[0], f"{where}[]"))
        return problems
    if _kinds(emulated) - {"null"} <= _kinds(documented):  # a merged list item may hold several kinds
        return []
    if isinstance(emulated, frozenset) and emulated - {"null"} <= _kinds(documented):
        return []  # items of an emulated list merged into one shape: each of their types is documented
    return [f"{where}: {emulated} where the documentation has {_name(documented)}"]


def page_drift(page: dict[str, Any], documented: dict[str, Any], items: tuple[str, ...]) -> list[str]:
    """Where one emulated page leaves the documented shape: its wrapper (with the list at the
    key path ``items`` emptied), then each item of that list alone."""
    def emptied(value: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        head, *rest = path
        return {**value, head: emptied(value[head], tuple(rest)) if rest else []}

    listed: Any = page
    recorded: Any = documented
    for key in items:
        listed, recorded = listed[key], recorded[key]
    where = "$." + ".".join(items) + "[]"
    problems = drift(shape(emptied(page, items)), documented)
    for item in listed:
        problems += drift(shape(item), recorded[0], where)
    return problems


def _name(documented: Any) -> str:
    return " or ".join(sorted(_kinds(documented)))


def assert_mention(mention: Any, want: dict[str, Any]) -> None:
    """``mention`` has each field of ``want`` (``created_at`` as ``YYYY-MM-DDTHH:MM:SSZ``)."""
    for name, value in want.items():
        actual = getattr(mention, name)
        if name == "created_at":
            actual = actual.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (name, actual) == (name, value)
