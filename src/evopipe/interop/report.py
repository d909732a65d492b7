"""The table of fixture files x import outcome in ``docs/import.md``, generated so that it
cannot drift: ``python -m evopipe.interop.report --check`` (a test runs it) or ``--write``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evopipe.interop.base import Translation
from evopipe.interop.registry import import_text

BEGIN = "<!-- generated:import-table:begin (python -m evopipe.interop.report --write) -->"
END = "<!-- generated:import-table:end -->"
FIXTURES = {"pipeline-ex": "pipeline_ex", "wave": "wave"}
"""Format → directory under ``tests/fixtures/import/``."""


def fixture_files(root: Path) -> list[tuple[str, Path]]:
    """(format, file) for every fixture pipeline, in a stable order."""
    found: list[tuple[str, Path]] = []
    for fmt, sub in FIXTURES.items():
        found += [(fmt, p) for p in sorted((root / sub).rglob("*.yaml"))]
    return [(f, p) for f, p in found if "personas" not in p.parts]


def import_fixture(fmt: str, path: Path) -> Translation:
    return import_text(fmt, path.read_text(encoding="utf-8"), str(path))


def _outcome(t: Translation) -> str:
    warnings = len(t.warnings)
    if t.ok:
        return f"imported ({warnings} warning{'s' if warnings != 1 else ''})"
    first = t.errors[0]
    where = f"{first.line}:{first.column}"
    more = f" (+{len(t.errors) - 1} more)" if len(t.errors) > 1 else ""
    return f"refused: `{first.rule}` at {where}: {first.message}{more}".replace("|", "\\|")


def table(root: Path) -> str:
    rows = ["| format | file | outcome |", "|---|---|---|"]
    for fmt, path in fixture_files(root):
        t = import_fixture(fmt, path)
        rows.append(f"| {fmt} | `{path.relative_to(root).as_posix()}` | {_outcome(t)} |")
    return "\n".join(rows)


def render(doc: str, root: Path) -> str:
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table(root)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate the table")
    parser.add_argument("--check", action="store_true", help="fail if stale (the default)")
    parser.add_argument("--doc", default="docs/import.md")
    parser.add_argument("--fixtures", default="tests/fixtures/import")
    args = parser.parse_args(argv)
    doc_path, root = Path(args.doc), Path(args.fixtures)
    current = doc_path.read_text(encoding="utf-8")
    wanted = render(current, root)
    if args.write:
        doc_path.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != current:
        print(f"{doc_path} is out of date: python -m evopipe.interop.report --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
