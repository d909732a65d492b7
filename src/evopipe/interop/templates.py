"""Rewrite a foreign template's ``{{ ... }}`` references into evopipe (Jinja2) templates.

Each format supplies a resolver: a dotted path such as ``steps.scan.result`` or ``input`` goes
in, an evopipe expression such as ``steps.scan.output`` comes out (or ``None`` when it has no
equivalent). Literal text is protected so that it cannot open a Jinja2 block or comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_PATH = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)*$")
_STRING = re.compile(r"""^('[^'\\{}]*'|"[^"\\{}]*")$""")
_JINJA_OPENERS = re.compile(r"\{%|\{#|%\}|#\}")

Resolver = Callable[[str], "str | None"]


@dataclass
class Rewritten:
    text: str
    unresolved: list[str] = field(default_factory=list)
    """Expressions that have no evopipe equivalent (the caller reports them)."""


def _literal(text: str) -> str:
    return _JINJA_OPENERS.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


def rewrite(text: str, resolve: Resolver) -> Rewritten:
    """Translate every ``{{ path }}`` in ``text`` with ``resolve``; protect literal text."""
    out: list[str] = []
    unresolved: list[str] = []
    end = 0
    for match in _EXPR.finditer(text):
        out.append(_literal(text[end : match.start()]))
        end = match.end()
        expr = match.group(1).strip()
        if _STRING.match(expr):  # a quoted literal renders as itself in both languages
            out.append("{{ " + expr + " }}")
            continue
        target = resolve(expr) if _PATH.match(expr) else None
        if target is None:
            unresolved.append(expr)
            out.append(_literal(match.group(0)))
        else:
            out.append("{{ " + target + " }}")
    out.append(_literal(text[end:]))
    return Rewritten("".join(out), unresolved)


def is_path(text: str) -> bool:
    return bool(_PATH.match(text))


def jinja_path(head: str, parts: list[str]) -> str:
    """``head`` followed by field accesses; parts that are not identifiers use ``["..."]``."""
    out = head
    for part in parts:
        out += f".{part}" if re.fullmatch(r"[A-Za-z_]\w*", part) else f"[{part!r}]"
    return out
