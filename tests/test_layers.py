"""The import graph of dlcli: no cycles, and no import pointing up a layer (docs/architecture.md).

Layers, top to bottom: the CLI; the commands; the middle (run folder, session, training, plots,
...); the domain packages (models, data, go, pretrained); the bottom (errors, checks, choices,
atomic writes, model files, low precision). Every import counts, the ones inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dlcli"
BOTTOM = {"dlcli", "dlcli.errors", "dlcli.checks", "dlcli.choices", "dlcli.atomic", "dlcli.interrupts",
          "dlcli.modelfiles", "dlcli.lowprecision", "dlcli.onnxnet"}
DOMAIN = ("dlcli.models", "dlcli.data", "dlcli.go", "dlcli.pretrained")
# Among the domain packages, only these may import one another: Go builds its networks with the
# model zoo and plays the network shipped in pretrained.
DOMAIN_MAY_USE = {"dlcli.go": {"dlcli.models", "dlcli.pretrained"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The dlcli modules `name` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("dlcli"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imports(name) for name in MODULES}


def package(name: str) -> str:
    return next((domain for domain in DOMAIN if name == domain or name.startswith(domain + ".")), name)


def layer(name: str) -> int:
    if name in BOTTOM:
        return 0
    if package(name) in DOMAIN:
        return 1
    if name in ("dlcli.cli", "dlcli.__main__"):
        return 4
    if name == "dlcli.commands" or name.startswith("dlcli.commands."):
        return 3
    return 2  # the middle: run, session, training, progress, plots, inference, ...


def test_the_graph_is_read():
    assert "dlcli.session" in GRAPH["dlcli.commands.classify"] and "dlcli.errors" in GRAPH["dlcli.run"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_points_up_a_layer(name):
    upward = sorted(target for target in GRAPH[name] if layer(target) > layer(name))
    assert not upward, f"{name} (layer {layer(name)}) imports {upward} from above"


@pytest.mark.parametrize("name", sorted(name for name in MODULES if package(name) in DOMAIN))
def test_domain_packages_keep_to_themselves(name):
    allowed = {package(name)} | DOMAIN_MAY_USE.get(package(name), set())
    crossing = sorted(target for target in GRAPH[name] if layer(target) == 1 and package(target) not in allowed)
    assert not crossing, f"{name} imports {crossing}"


def test_there_is_no_import_cycle():
    """Tarjan's strongly connected components: any with more than one module is a cycle."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"
