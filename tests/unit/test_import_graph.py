"""No module of chalicelib imports another that imports it back (issue 16, "No import cycles").

The graph is read from the source with ``ast``, not by importing it: every ``import`` and
``from ... import`` counts wherever it stands (module level, inside a function, under
``if TYPE_CHECKING:``), because a lazy import is still a dependency; it only hides the cycle
until the function runs. Importing ``a.b.c`` also imports the packages ``a.b`` and ``a`` (their
``__init__`` runs first), so those count too, except the importer's own packages, which are
already loaded when it runs. Imports by name at run time (``importlib.import_module`` of a
registry entry) are not read: a registry names its plugins as data.

A cycle is a strongly connected component of more than one module (Tarjan), reported as the
shortest path from its first module back to itself, each step with the file and line of its import.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Import cycles accepted for now: none. A ratchet: a cycle that appears fails the test, and so
# does one listed here that is gone, so the list only ever shrinks.
KNOWN_CYCLES: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class Site:
    """Where a module imports another: the file (relative to the root) and the line."""

    path: str
    line: int


Graph = Mapping[str, Mapping[str, Site]]  # module -> module it imports -> its first import of it


def package_modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Every module of ``package`` under ``root``: dotted name -> (file, is a package)."""
    modules = {}
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    """The dotted names an import statement names (before they are matched to modules)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative: from the importer's package, one level up per extra dot
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[:len(package) - node.level + 1]
        base = ".".join([*anchor, *([node.module] if node.module else [])])
    yield base
    yield from (f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`


def import_graph(root: Path, package: str) -> dict[str, dict[str, Site]]:
    """Which modules of ``package`` each of its modules imports, with the first place it does."""
    modules = package_modules(root, package)
    graph: dict[str, dict[str, Site]] = {name: {} for name in modules}
    for name, (path, is_package) in modules.items():
        own = {name, *_ancestors(name)}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            site = Site(path.relative_to(root).as_posix(), node.lineno)
            for dotted in _imported(node, name, is_package):
                target = next((n for n in (dotted, *reversed(_ancestors(dotted))) if n in modules), None)
                if target is None:
                    continue
                for found in (target, *_ancestors(target)):
                    if found in modules and found not in own:
                        graph[name].setdefault(found, site)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def cycle_path(graph: Graph, component: list[str]) -> str:
    """The shortest way from the component's first module back to itself, as
    ``a -> b (a.py:3) -> a (b.py:7)``: each step names the import that makes it."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue and start not in came_from:
        module = queue.popleft()
        for target in sorted(graph[module]):
            if target in members and target not in came_from:
                came_from[target] = module
                queue.append(target)
    steps = [start]
    while len(steps) == 1 or steps[-1] != start:
        steps.append(came_from[steps[-1]])
    steps.reverse()
    return " -> ".join([start, *(f"{b} ({graph[a][b].path}:{graph[a][b].line})" for a, b in pairwise(steps))])


def test_no_module_of_chalicelib_imports_one_that_imports_it_back() -> None:
    graph = import_graph(ROOT, "chalicelib")
    found = cycles(graph)
    new = [cycle_path(graph, component) for component in found if frozenset(component) not in KNOWN_CYCLES]
    gone = [sorted(known) for known in KNOWN_CYCLES if sorted(known) not in found]
    assert not new, "import cycles (move the shared code where it belongs):\n" + "\n".join(new)
    assert not gone, f"these known cycles are gone: remove them from KNOWN_CYCLES: {gone}"


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_lazy_a_relative_and_a_type_checking_import_each_close_a_cycle(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "def f():\n    from pkg import b\n",
        "pkg/b.py": "from . import c\n",
        "pkg/c.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.a import f\n",
        "pkg/d.py": "import os\n",
    })
    graph = import_graph(root, "pkg")
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert cycle_path(graph, ["pkg.a", "pkg.b", "pkg.c"]) == (
        "pkg.a -> pkg.b (pkg/a.py:2) -> pkg.c (pkg/b.py:1) -> pkg.a (pkg/c.py:4)")


def test_importing_a_submodule_imports_its_package_but_never_the_importers_own(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/model.py": "from pkg.sub.deep import x\n",  # runs pkg/sub/__init__.py first
        "pkg/sub/__init__.py": "from pkg.sub.deep import x\nfrom pkg.model import y\n",
        "pkg/sub/deep.py": "from pkg.sub.other import z\n",  # pkg.sub is already loading: no edge
        "pkg/sub/other.py": "from ..model import y\n",
    })
    graph = import_graph(root, "pkg")
    assert dict(graph["pkg.model"]) == {"pkg.sub.deep": Site("pkg/model.py", 1), "pkg.sub": Site("pkg/model.py", 1)}
    assert set(graph["pkg.sub.deep"]) == {"pkg.sub.other"}
    assert set(graph["pkg.sub.other"]) == {"pkg.model"}
    assert cycles(graph) == [["pkg.model", "pkg.sub", "pkg.sub.deep", "pkg.sub.other"]]
    assert cycle_path(graph, cycles(graph)[0]) == (
        "pkg.model -> pkg.sub (pkg/model.py:1) -> pkg.model (pkg/sub/__init__.py:2)")


@pytest.mark.parametrize("files", [
    {"pkg/__init__.py": "from pkg import a\n", "pkg/a.py": "from pkg.b import x\n", "pkg/b.py": "import json\n"},
    {"pkg/__init__.py": "", "pkg/a.py": "import pkg.b as b\n", "pkg/b.py": "from pkg import c\n", "pkg/c.py": ""},
])
def test_a_package_that_imports_down_only_has_no_cycle(tmp_path: Path, files: dict[str, str]) -> None:
    assert cycles(import_graph(_package(tmp_path, files), "pkg")) == []
