"""The layer rules of docs/decisions/0005-one-house.md, enforced on every import in src/.

Every ``import`` and ``from … import`` counts, including the lazy ones inside functions and
under ``TYPE_CHECKING``: an upward import is a design error wherever it hides. A new area must
be added to ``ALLOWED`` (that is the deliberate act of placing it in a layer).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

CORE = {"spec", "check", "models", "engine", "steps"}
BELOW_AREAS = CORE | {"store"}
MEMORY = BELOW_AREAS | {"memory"}  # the collective memory sits below every area that reads it
BELOW_APP = MEMORY | {
    "genesis",
    "evaluate",
    "orchestrate",
    "evolve",
    "interop",
    "queue",
    "nursery",
    "ray",
    "auth",
}

ALLOWED: dict[str, set[str]] = {
    "spec": set(),
    "check": {"spec"},
    "models": {"spec", "check"},
    "engine": {"spec", "check", "models", "steps"},  # engine and steps are one layer
    "steps": {"spec", "check", "models", "engine"},
    "store": CORE,
    "memory": BELOW_AREAS,
    "genesis": MEMORY,
    "evaluate": BELOW_AREAS,
    "orchestrate": BELOW_AREAS,
    "interop": BELOW_AREAS,
    "queue": BELOW_AREAS,
    "ray": CORE,  # an executor for the engine's seam; the app chooses it
    "auth": BELOW_AREAS,
    "evolve": MEMORY | {"genesis", "evaluate", "orchestrate"},
    "nursery": MEMORY | {"genesis", "evaluate", "orchestrate"},
    "app": BELOW_APP,
    # faces: only the application layer (and the root package, for __version__)
    "cli": {"app", "evopipe", "mcp", "server"},  # `evopipe mcp` and `evopipe serve` start faces
    "server": {"app", "evopipe"},
    "chat": {"app", "evopipe"},
    "mcp": {"app", "evopipe"},
    "demo": {"app"},
    "__main__": {"cli"},
    # generators of the docs that cannot drift: read the format and the rule table
    "docgen": {"spec", "check", "engine", "steps", "docgen_kinds"},
    "docgen_kinds": {"spec", "steps"},
    # the public facade re-exports lazily from every layer
    "evopipe": BELOW_APP | {"app"},
}


def _area(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "evopipe":
        return None
    return parts[1] if len(parts) > 1 else "evopipe"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target, node.lineno


def violations(root: Path) -> list[str]:
    """``file:line: area imports area`` for every import the table does not allow."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        source = _area(module)
        if source is None:
            continue
        allowed = ALLOWED.get(source)
        if allowed is None:
            found.append(f"{path}: area {source!r} is in no layer (add it to ALLOWED)")
            continue
        for target, line in _imports(path, module):
            dest = _area(target)
            if dest is not None and dest != source and dest not in allowed:
                found.append(f"{path}:{line}: {source} imports {target} (a layer above it)")
    return found


def test_no_import_crosses_a_layer_upward() -> None:
    assert violations(SRC) == []


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("evopipe/store/leak.py", "from evopipe.evolve import tables\n"),
        ("evopipe/spec/leak.py", "def f():\n    import evopipe.engine.runner\n"),
        ("evopipe/cli/leak.py", "from evopipe.engine import run_pipeline\n"),
        ("evopipe/engine/leak.py", "from ..genesis import driver\n"),
    ],
)
def test_an_upward_import_is_caught(tmp_path: Path, where: str, line: str) -> None:
    target = tmp_path / where
    target.parent.mkdir(parents=True)
    (target.parent / "__init__.py").write_text("")
    target.write_text(line)
    assert len(violations(tmp_path)) == 1
    fine = "from evopipe.app import App\n" if "/cli/" in where else "import evopipe.spec\n"
    target.write_text(fine)  # downward is fine
    assert violations(tmp_path) == []


def test_an_unplaced_area_is_reported(tmp_path: Path) -> None:
    (tmp_path / "evopipe" / "newthing").mkdir(parents=True)
    (tmp_path / "evopipe" / "newthing" / "__init__.py").write_text("")
    assert "in no layer" in violations(tmp_path)[0]
