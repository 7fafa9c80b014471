"""The package's import graph: no circles, configs at the bottom without TensorFlow.

Read from the source with `ast` (every import statement, those inside functions
included, since a lazy import is a dependency too; `if TYPE_CHECKING:` blocks left
out, since they never run)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "segnet_tf"
# Packages above the commands: only they may import segnet_tf.commands.
ABOVE_COMMANDS = ("segnet_tf.commands", "segnet_tf.cli", "segnet_tf.demo")


def module_files() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and getattr(test, "id", getattr(test, "attr", "")) == (
            "TYPE_CHECKING"
        ):
            skipped |= {id(child) for child in ast.walk(node)}
    return skipped


def _function_body_nodes(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside |= {id(child) for child in ast.walk(node) if child is not node}
    return inside


def imported_names(module: str, path: Path, when_imported: bool = False) -> list[str]:
    """What ``module`` imports: ``from a import b`` gives ``a.b`` when that is a module
    of the package, else ``a``; relative imports are resolved. ``when_imported``: only
    the imports that run when the module is imported (none inside functions)."""
    modules = module_files()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    if when_imported:
        skipped |= _function_body_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                names.append(submodule if submodule in modules else base)
    return names


def import_graph(when_imported: bool = False) -> dict[str, set[str]]:
    """Package module -> the package modules it imports."""
    modules = module_files()
    return {
        module: {
            name
            for name in imported_names(module, path, when_imported)
            if name in modules and name != module
        }
        for module, path in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_imports():
    graph = import_graph()
    assert "segnet_tf.models.base" in graph["segnet_tf.models.segnet"]
    assert "segnet_tf.training.trainer" in graph["segnet_tf.training"]
    # A lazy import inside a function counts.
    assert "segnet_tf.models.base" in graph["segnet_tf.precision"]
    # The cycle finder finds a planted circle.
    base = "segnet_tf.models.base"
    planted = {**graph, base: graph[base] | {"segnet_tf.models.segnet"}}
    assert circles(planted) == [[base, "segnet_tf.models.segnet"]]


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_only_the_commands_and_above_import_the_commands():
    upward = sorted(
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if target.startswith("segnet_tf.commands")
        and module != "segnet_tf"
        and not module.startswith(ABOVE_COMMANDS)
    )
    assert upward == []


def test_the_configs_import_no_tensorflow():
    # What importing them runs: their checks may import the model registry when called.
    graph = import_graph(when_imported=True)
    config_modules = [
        m for m in graph if m == "segnet_tf.config" or m.startswith("segnet_tf.config.")
    ]
    assert config_modules, "segnet_tf.config is missing"
    reached, todo = set(), list(config_modules)
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += graph[module]
    files = module_files()
    heavy = {
        module: name
        for module in reached
        for name in imported_names(module, files[module], when_imported=True)
        if name.split(".")[0] in ("tensorflow", "keras")
    }
    assert heavy == {}
    # And at run time: importing the configs loads neither.
    code = (
        "import sys, segnet_tf.config; "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
