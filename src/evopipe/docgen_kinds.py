"""The kind reference of ``docs/format.md``: fields from the step models, examples from files."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from evopipe.spec.base import StepBase
from evopipe.spec.catalog import builtin_models

_COMMON = frozenset(StepBase.model_fields)


def kinds_markdown(repo: Path) -> str:
    """One section per kind: its doc line, its own fields, the example file."""
    out: list[str] = []
    for kind, model in builtin_models().items():
        out += [f"### `{kind}`", "", _doc(model), ""]
        if model.kind_info.needs_trust:
            out += [
                "Refused under the untrusted policy (generated and evolved pipelines); "
                "validate and run with `--trust`.",
                "",
            ]
        rows = [_row(name, info) for name, info in model.model_fields.items() if _own(name)]
        if rows:
            out += ["| field | type | required | default | meaning |", "|---|---|---|---|---|"]
            out += rows
            out.append("")
        example = repo / "examples" / "kinds" / f"{kind}.yaml"
        if example.exists():
            out += [
                f"Example ([`examples/kinds/{kind}.yaml`](../examples/kinds/{kind}.yaml)):",
                "",
                "```yaml",
                example.read_text(encoding="utf-8").rstrip(),
                "```",
                "",
            ]
    return "\n".join(out)


def _own(name: str) -> bool:
    return name not in _COMMON


def _doc(model: type[Any]) -> str:
    return " ".join((model.__doc__ or "").split())


def _row(name: str, info: FieldInfo) -> str:
    key = info.alias or name
    required = "yes" if info.is_required() else ""
    default = "" if info.is_required() else _default(info)
    meaning = (info.description or "").replace("|", "\\|")
    return f"| `{key}` | {_type(info.annotation)} | {required} | {default} | {meaning} |"


def _default(info: FieldInfo) -> str:
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    return "" if value is None else f"`{value!r}`".replace("|", "\\|")


def _type(annotation: Any) -> str:
    """A short, readable name for a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if origin is typing.Annotated:
        return "step"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            annotation.__name__, annotation.__name__
        )
    if annotation is Any:
        return "any"
    return str(annotation).replace("typing.", "")
