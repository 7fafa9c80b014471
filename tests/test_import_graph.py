"""The package's import graph: one layer order, no circles, configs without TensorFlow.

Read from the source with `ast` (every import statement, those inside functions
included, since a lazy import is a dependency too; `if TYPE_CHECKING:` blocks left
out, since they never run). Every module belongs to one layer of :data:`LAYERS` and
imports only from its own layer or those below."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "segnet_tf"
ROOT = "segnet_tf"
# The layers, bottom to top: a module may import its own layer and those below it,
# never one above. Each layer is a tuple of module names, each standing for itself and
# its submodules (the root package stands for itself only). A new module must be
# placed here (test_every_module_is_in_one_layer).
LAYERS: list[tuple[str, ...]] = [
    # Base: plain Python, NumPy and Pillow helpers that know no model, no data set and
    # no TensorFlow: errors, files, class lists, images, CPU flags, the config machinery.
    (
        "segnet_tf.__about__",
        "segnet_tf._compat",
        "segnet_tf.atomic_files",
        "segnet_tf.class_count",
        "segnet_tf.classes",
        "segnet_tf.config_fields",
        "segnet_tf.cpu_features",
        "segnet_tf.errors",
        "segnet_tf.image_decoding",
        "segnet_tf.model_files",
        "segnet_tf.onednn",
        "segnet_tf.preset_folders",
        "segnet_tf.resize_policy",
        "segnet_tf.training_scale",
    ),
    # The configs and the names they take: the `segnet` parser is built from them
    # without TensorFlow.
    ("segnet_tf.config",),
    # The building blocks: Keras layers, metrics, and the data sets and their sources.
    ("segnet_tf.layers", "segnet_tf.metrics", "segnet_tf.data", "segnet_tf.data_sources"),
    # The models, their registry and presets, and running them in another precision.
    ("segnet_tf.models", "segnet_tf.precision"),
    # Drawing masks, colour maps, figures and a SegNet's feature maps.
    ("segnet_tf.visualize",),
    # Running a trained model: Segmenter, tiling, test-time augmentation, domain check.
    ("segnet_tf.inference",),
    # Training and scoring a model; it may use inference (TTA), never export.
    ("segnet_tf.training",),
    # Exporting a trained model (SavedModel, TFLite, ONNX) and running the exports.
    ("segnet_tf.export",),
    # The commands: one config and one function per `segnet` subcommand.
    ("segnet_tf.commands",),
    # The root package: its lazy public API (`import_api`) reaches the commands and
    # everything below, never the applications above.
    (ROOT,),
    # The applications: the `segnet` command line and the Streamlit demo.
    ("segnet_tf.cli", "segnet_tf.demo"),
]
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


def in_layer(module: str, layer: tuple[str, ...]) -> bool:
    return any(module == name or (name != ROOT and module.startswith(name + ".")) for name in layer)


def layer_index(module: str) -> int:
    """The position of ``module``'s layer in :data:`LAYERS` (0: the bottom)."""
    (index,) = [i for i, layer in enumerate(LAYERS) if in_layer(module, layer)]
    return index


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every (module, imported module) where the imported one is in a higher layer."""
    return sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if layer_index(target) > layer_index(module)
    )


def test_every_module_is_in_one_layer():
    placed = {
        module: [i for i, layer in enumerate(LAYERS) if in_layer(module, layer)]
        for module in module_files()
    }
    assert {module: found for module, found in placed.items() if len(found) != 1} == {}
    # Every name of LAYERS stands for a module: none is a typo or a leftover.
    names = [name for layer in LAYERS for name in layer]
    assert sorted(set(names) - set(module_files())) == []
    assert len(names) == len(set(names))


def test_no_module_imports_a_higher_layer():
    graph = import_graph()
    assert upward_imports(graph) == []
    # The test finds a planted upward arrow: the trainer importing an export.
    trainer = "segnet_tf.training.trainer"
    planted = {**graph, trainer: graph[trainer] | {"segnet_tf.export.tflite"}}
    assert upward_imports(planted) == [(trainer, "segnet_tf.export.tflite")]
    # And a lazy one inside a function of the configs, the way the model check was.
    config = "segnet_tf.config.training"
    planted = {**graph, config: graph[config] | {"segnet_tf.models"}}
    assert upward_imports(planted) == [(config, "segnet_tf.models")]


def test_the_root_reaches_only_its_own_layer_and_below():
    # The root imports its public API by name (importlib), which the graph cannot see.
    import segnet_tf

    reached = {f"{ROOT}.{name}" for name in segnet_tf._SUBPACKAGES} | set(segnet_tf._API.values())
    assert sorted(m for m in reached if layer_index(m) > layer_index(ROOT)) == []
    assert {"segnet_tf.commands", "segnet_tf.inference"} <= reached


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
    # What importing them runs (test_no_module_imports_a_higher_layer covers the rest).
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
