"""Small text helpers shared by the operators (template references, rewiring)."""

from __future__ import annotations

import re
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from evopipe.spec.errors import TemplateError
from evopipe.spec.templates import references

_RENDER = ImmutableSandboxedEnvironment()


def input_refs(template: str) -> list[str]:
    """The ``{{ ... }}`` expressions of a template that read inputs or steps (kept on rewrite)."""
    try:
        refs = references(template)
    except TemplateError:
        return []
    return [r.dotted() for r in refs if r.root in ("inputs", "steps", "item", "index")]


def keep_references(old: str, new: str) -> str:
    """``new`` with every data reference of ``old`` that it lost appended, so data still flows."""
    new = new.strip()
    try:
        have = {r.dotted() for r in references(new)}
    except TemplateError:
        return old
    missing = [r for r in input_refs(old) if r not in have]
    lines = [new, *(f"{{{{ {ref} }}}}" for ref in missing)]
    return "\n".join(lines)


def rename_step_refs(text: str, old: str, new: str) -> str:
    """Point ``steps.OLD`` references at ``steps.NEW``."""
    return re.sub(rf"\bsteps\.{re.escape(old)}\b", f"steps.{new}", text)


def rewire(value: Any, old: str, new: str) -> Any:
    """Apply :func:`rename_step_refs` to every string inside plain data."""
    if isinstance(value, str):
        return rename_step_refs(value, old, new)
    if isinstance(value, dict):
        return {k: rewire(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [rewire(v, old, new) for v in value]
    return value


def render_inputs(template: str, inputs: dict[str, Any]) -> str:
    """Render a prompt that reads only ``inputs`` (for few-shot demos); key lines otherwise."""
    try:
        return _RENDER.from_string(template).render(inputs=inputs).strip()
    except Exception:  # a template that reads steps or is malformed: fall back to plain lines
        return "\n".join(f"{k}: {v}" for k, v in inputs.items())
