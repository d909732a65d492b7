"""State shared while translating one pipeline_ex workflow: names, inputs, references."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from evopipe.interop.base import Notes, input_name, step_id
from evopipe.interop.templates import jinja_path, rewrite
from evopipe.spec.conditions import parse_condition
from evopipe.spec.errors import ConditionError
from evopipe.spec.loader import PathKey

_CLAUDE_ALIASES = {
    "haiku": "anthropic:claude-haiku-4-5",
    "sonnet": "anthropic:claude-sonnet-4-5",
    "opus": "anthropic:claude-opus-4-1",
}
_COND_PATH = re.compile(r"""("[^"]*"|'[^']*')|\b([A-Za-z_][\w-]*(?:\.[\w-]+)*)\b""")
_COND_WORDS = {"and", "or", "not", "in", "true", "false", "null", "nil", "contains", "len"}


def claude_model(alias: object) -> str:
    text = str(alias)
    return _CLAUDE_ALIASES.get(text, text if ":" in text else f"anthropic:{text}")


def gemini_model(name: object) -> str:
    text = str(name)
    return text if ":" in text else f"google:{text}"


@dataclass
class Scope:
    """What a template may name here: the loop iterator (inside a for_loop body)."""

    iterator: str | None = None


@dataclass
class PexContext:
    notes: Notes
    workflow: dict[str, Any]
    name: str
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    """pipeline_ex step name → the evopipe step written for it."""
    variables: dict[str, str] = field(default_factory=dict)
    """State variable → id of the set step that last wrote it."""
    extracted: dict[str, list[list[str]]] = field(default_factory=dict)
    """Step id → field paths read from its output (it becomes an extract step)."""
    scope: Scope = field(default_factory=Scope)

    # ------------------------------------------------------------------ references
    def step_ref(self, name: str, fields: list[str]) -> str | None:
        """``steps.<id>.output`` plus fields; records the fields so the step gets a schema."""
        if name not in self.steps:
            return None
        sid = self.steps[name]["id"]
        fields = fields[1:] if fields[:1] == ["result"] else fields
        if fields:
            self.extracted.setdefault(sid, []).append(fields)
        return jinja_path(f"steps.{sid}.output", fields)

    def declare_input(self, name: str, description: str) -> str:
        key = input_name(name)
        self.inputs.setdefault(key, {"type": "string", "description": description})
        return f"inputs.{key}"

    def resolve(self, expr: str) -> str | None:
        """A pipeline_ex variable path as an evopipe expression (None: no equivalent)."""
        head, *rest = expr.split(".")
        if head == "steps" and rest:
            return self.step_ref(rest[0], rest[1:])
        if head == "loop" and rest and self.scope.iterator is not None:
            if rest[0] == "index":
                return "index"
            if rest[0] in (self.scope.iterator, "item"):
                return jinja_path("item", rest[1:])
            return None
        if head in ("state", "variables") and rest:
            return self.variable_ref(rest[0], rest[1:])
        if head == "workflow" and rest == ["name"]:
            return repr(self.name)
        if head in ("execution_id", "timestamp", "loop", "workflow", "state", "env"):
            return None
        if head in self.steps:
            return self.step_ref(head, rest)
        if not rest:
            return self.declare_input(head, f"the {head} variable of the pipeline_ex run")
        return None

    def variable_ref(self, name: str, fields: list[str]) -> str | None:
        if name in self.variables:
            return jinja_path(f"steps.{self.variables[name]}.output", [name, *fields])
        if name in self.inputs:
            return jinja_path(f"inputs.{name}", fields)
        return None

    # ------------------------------------------------------------------ translation helpers
    def template(self, text: object, where: PathKey) -> str:
        """Rewrite one template; report every expression that has no equivalent."""
        done = rewrite(str(text), self.resolve)
        for expr in done.unresolved:
            self.notes.unsupported(
                where,
                f"template expression {{{{ {expr} }}}} has no evopipe equivalent",
                "evopipe templates read inputs, steps.<id>.output, item/index and run.id",
            )
        return done.text

    def condition(self, cond: object, where: PathKey) -> str | None:
        """A pipeline_ex condition (string, or and/or/not mapping, or list) as evopipe's."""
        if isinstance(cond, list):
            parts = [self.condition(c, (*where, i)) for i, c in enumerate(cond)]
            return None if None in parts else " and ".join(f"({p})" for p in parts)
        if isinstance(cond, dict) and len(cond) == 1:
            op, arg = next(iter(cond.items()))
            if op == "not":
                inner = self.condition(arg, (*where, op))
                return None if inner is None else f"not ({inner})"
            if op in ("and", "or") and isinstance(arg, list):
                parts = [self.condition(c, (*where, op, i)) for i, c in enumerate(arg)]
                return None if None in parts else f" {op} ".join(f"({p})" for p in parts)
        if isinstance(cond, str):
            return self._condition_text(cond, where)
        self.notes.unsupported(where, f"condition {cond!r} has no evopipe equivalent")
        return None

    def _condition_text(self, text: str, where: PathKey) -> str | None:
        body = text.strip()
        if body.startswith("{{") and body.endswith("}}"):
            body = body[2:-2].strip()
        failed: list[str] = []

        def swap(m: re.Match[str]) -> str:
            if m.group(1) or m.group(2) in _COND_WORDS or m.group(2)[0].isdigit():
                return "null" if m.group(2) == "nil" else m.group(0)
            target = self.resolve(m.group(2))
            if target is None:
                failed.append(m.group(2))
                return m.group(0)
            return target

        out = _COND_PATH.sub(swap, body)
        try:
            parse_condition(out)
        except ConditionError as exc:
            failed.append(f"{body!r} ({exc.message})")
        if failed:
            self.notes.unsupported(
                where,
                f"condition {text!r} has no evopipe equivalent: {', '.join(failed)}",
                "evopipe conditions: comparisons, and/or/not, in, len(), matches()",
            )
            return None
        return out

    def new_id(self, name: object) -> str:
        base = step_id(name)
        taken = {s["id"] for s in self.steps.values()}
        sid, n = base, 2
        while sid in taken:
            sid, n = f"{base}_{n}", n + 1
        return sid
