"""The package's import structure: the model layer stands without music21 and the corpus code, and
no module imports itself back through others (module-level and function-level imports alike)."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.commands import ROOT

PACKAGE = ROOT / "jazz_flax"
MODEL_LAYER = ("model", "sample", "beam", "losses", "cells", "fused_lstm")


def test_the_model_layer_imports_neither_music21_nor_the_corpus_code():
    modules = ", ".join(f"jazz_flax.{name}" for name in MODEL_LAYER)
    check = (
        f"import {modules}, sys; "
        "assert 'music21' not in sys.modules and 'jazz_flax.data' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith('jazz_flax.') or m == 'music21')"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def module_name(path: Path) -> str:
    """`jazz_flax/data/corpus.py` -> `jazz_flax.data.corpus`; a package is its `__init__`."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Each module of the package by name -> its file."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(node: ast.AST, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """The package modules an `import` or `from … import` statement in module `name` imports: a
    `from P import n` imports P.n when that is a module, else P (a relative P read from `name`)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:
        anchor = name.split(".")[: name.count(".") + 1 - node.level + is_package]
        base = ".".join(anchor + ([base] if base else []))
    targets = {f"{base}.{alias.name}" for alias in node.names}
    return {target if target in modules else base for target in targets} & modules


def runtime_nodes(tree: ast.AST):
    """Every node of `tree` but those under `if TYPE_CHECKING:`, which never run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            yield from (n for child in node.orelse for n in ast.walk(child))
            continue
        yield node
        yield from runtime_nodes(node)


def with_packages(targets: set[str], name: str, modules: set[str]) -> set[str]:
    """`targets` and the packages above them, whose `__init__` importing a target runs first;
    the packages above `name` itself aside, which are running already."""
    own = {name.rsplit(".", k)[0] for k in range(1, name.count(".") + 1)}
    above = {t.rsplit(".", k)[0] for t in targets for k in range(1, t.count(".") + 1)}
    return (targets | (above & modules)) - own


def import_graph() -> dict[str, set[str]]:
    """Each module of the package -> the package modules it imports anywhere in its text (and the
    packages above them), except under `if TYPE_CHECKING:`."""
    modules = package_modules()
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        nodes = runtime_nodes(tree)
        edges = set().union(*(imported(n, name, is_package, set(modules)) for n in nodes))
        graph[name] = with_packages(edges, name, set(modules)) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as the list of its modules (the first again at its end), or None."""
    state, stack = {}, []

    def visit(node):
        state[node], _ = "open", stack.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == "open":
                return stack[stack.index(child) :] + [child]
            if child not in state and (cycle := visit(child)):
                return cycle
        state[node], _ = "done", stack.pop()
        return None

    return next((c for node in sorted(graph) if node not in state and (c := visit(node))), None)


def test_the_import_graph_resolves_relative_package_and_function_level_imports():
    modules = {"p", "p.b", "p.q", "p.q.a", "p.q.c"}
    source = "from . import a\ndef f():\n    from ..b import n\n    import p.q.c\nfrom p.q import x"
    for name, is_package in (("p.q", True), ("p.q.c", False)):
        edges = [imported(n, name, is_package, modules) for n in ast.walk(ast.parse(source))]
        assert set().union(*edges) == {"p.q.a", "p.b", "p.q.c", "p.q"}
    graph = import_graph()
    assert {"jazz_flax.errors", "jazz_flax.fused_lstm"} <= graph["jazz_flax.cells"]
    assert "jazz_flax.grammar.v2" in graph["jazz_flax.grammar"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_back():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
