"""Package-level contracts: the core runs without Freqtrade, __all__ tells the truth, and no
module reaches into another's private names."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import freqtrade_feedback

REPO = Path(__file__).resolve().parents[1]
SHIPPED = [REPO / "freqtrade_feedback", REPO / "user_data"]
"""The package and the strategies and hyperopt loss shipped beside it."""

CORE = [
    "freqtrade_feedback",
    "freqtrade_feedback.config",
    "freqtrade_feedback.features",
    "freqtrade_feedback.labels",
    "freqtrade_feedback.learner",
    "freqtrade_feedback.ledger",
    "freqtrade_feedback.loop",
    "freqtrade_feedback.lab",
    "freqtrade_feedback.guard",
    "freqtrade_feedback.journal",
    "freqtrade_feedback.shadow",
    "freqtrade_feedback.supervisor",
]


def test_core_imports_without_freqtrade() -> None:
    """The lab and most tests drive the loop without the bot; a stray import would break them."""
    code = (
        "import sys; sys.modules['freqtrade'] = None\n"
        + "".join(f"import {name}\n" for name in CORE)
        + "from datetime import UTC, datetime\n"
        "loop = freqtrade_feedback.FeedbackLoop()\n"
        "t = datetime(2024, 1, 1, tzinfo=UTC)\n"
        "s = freqtrade_feedback.Signal('A/B', t, features={'x': 1.0})\n"
        "assert loop.on_signal(s, now=s.candle).take\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_api_matches_all() -> None:
    public = {
        name for name, value in vars(freqtrade_feedback).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    } - {"annotations", "Any"}
    assert public | set(freqtrade_feedback._ADAPTER) == set(freqtrade_feedback.__all__)


def test_guard_public_api_matches_all() -> None:
    from freqtrade_feedback import guard

    public = {
        name for name, value in vars(guard).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    } - {"annotations"}
    assert public == set(guard.__all__)


def test_adapter_classes_load_lazily() -> None:
    assert freqtrade_feedback.FeedbackMixin.__name__ == "FeedbackMixin"
    assert issubclass(freqtrade_feedback.FeedbackStrategy, freqtrade_feedback.FeedbackMixin)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, what)`` for each private name a module takes from another module: imported
    (``from m import _f``, ``import m._sub``), or read off a name it imported from this
    package (``runs._current``, ``Guard._reset``). An alias that hides a public name
    (``import x as _x``) is not one; a third-party private method the offline patch replaces
    is not this package's business."""
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    ours: set[str] = set()
    for node in imports:
        names = [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom):
            yield from ((node.lineno, f"from {node.module or '.'} import {name}")
                        for name in names if _private(name))
            if node.level or (node.module or "").startswith("freqtrade_feedback"):
                ours.update(alias.asname or alias.name for alias in node.names)
        else:
            yield from ((node.lineno, f"import {name}") for name in names
                        if any(_private(part) for part in name.split(".")))
            ours.update(alias.asname or alias.name.split(".")[0] for alias in node.names
                        if alias.name.startswith("freqtrade_feedback"))
    yield from _private_reads(tree, ours)


def _private_reads(tree: ast.AST, ours: set[str]) -> Iterator[tuple[int, str]]:
    """``name._private`` (or ``name.sub._private``) where ``name`` came from the package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in ours:
                yield node.lineno, ast.unparse(node)


def test_private_uses_are_found() -> None:
    code = (
        "from freqtrade_feedback.cli.options import _config_strategy\n"
        "import freqtrade_feedback._hidden\n"
        "from freqtrade_feedback import runs\n"
        "from freqtrade_feedback.offline import markets as _markets\n"
        "from freqtrade.exchange import Exchange\n"
        "runs._current()\n"
        "Exchange._load_async_markets = None\n"
        "self._state = _markets.load()\n"
    )
    assert list(private_uses(ast.parse(code))) == [
        (1, "from freqtrade_feedback.cli.options import _config_strategy"),
        (2, "import freqtrade_feedback._hidden"),
        (6, "runs._current"),
    ]


def test_no_module_uses_another_modules_private_names() -> None:
    """A name starting with ``_`` is free to change with its module: a caller elsewhere
    needs it public (or the code moved next to it), and this says where."""
    found = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for root in SHIPPED
        for path in sorted(root.rglob("*.py"))
        for line, what in private_uses(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    ]
    assert not found, "private names used across modules:\n" + "\n".join(found)


LAYERS = {
    "core": {"config", "edge", "features", "labels", "learner", "loop", "events", "supervisor",
             "guard",
             "shadow", "validation", "exceptions", "typing", "metrics", "runs", "csvfile",
             "parameters"},
    "lab": {"lab"},
    "durable": {"journal", "ledger"},
    "glue": {"strategy", "adapter", "feature_sets", "offline", "replay", "hyperopt_loss",
             "plotting", "backtest", "bot", "progress"},
    "face": {"cli", "comparison", "benchmarks", "cluster", "hyperopt_cluster"},
}
"""The layers of docs/development.md, by top-level module of the package."""
MAY_IMPORT = {
    "core": {"core"},
    "lab": {"core", "lab"},
    "durable": {"core", "durable"},
    "glue": {"core", "durable", "glue"},
    "face": {"core", "lab", "durable", "glue", "face"},
}
"""Imports point downward only (a layer may import itself and the layers below it)."""


def _layer(module: str) -> str:
    (layer,) = [name for name, members in LAYERS.items() if module in members]
    return layer


def test_imports_point_downward_only() -> None:
    """The package map of docs/development.md, checked: every module of the package is in one
    layer, and imports it only the layers that map allows (lazy imports inside functions
    included)."""
    package = REPO / "freqtrade_feedback"
    wrong = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        if parts == ("__init__",):
            continue
        layer = _layer(parts[0])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.startswith("freqtrade_feedback."):
                    target = _layer(name.split(".")[1])
                    if target not in MAY_IMPORT[layer]:
                        wrong.append(f"{path.relative_to(REPO)}:{node.lineno} ({layer}) "
                                     f"imports {name} ({target})")
    assert not wrong, "\n".join(wrong)
