"""Static analysis of templates: which names a template reads, without rendering it.

The engine renders templates in Jinja2's sandbox (``evopipe.engine.templates``); this module only
parses them, so that the checker and the planner can see data flow before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from evopipe.spec.errors import TemplateError

_PARSER = ImmutableSandboxedEnvironment()
_SINGLE_EXPR = re.compile(r"^\s*{{(?P<expr>.*?)}}\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference read by a template: ``root`` plus the constant attribute path after it.

    ``steps.extract.output.title`` → ``Ref("steps", ("extract", "output", "title"))``.
    A dynamic part (``steps[x]``) ends the path.
    """

    root: str
    path: tuple[str | int, ...]

    def dotted(self) -> str:
        return ".".join([self.root, *map(str, self.path)])


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


def single_expression(value: str) -> str | None:
    """The inner expression if ``value`` is exactly one ``{{ ... }}`` (which keeps its JSON type
    when rendered), else None."""
    m = _SINGLE_EXPR.match(value)
    if not m or "{{" in m.group("expr") or "}}" in m.group("expr"):
        return None
    return m.group("expr")


@lru_cache(maxsize=4096)
def parse(value: str) -> nodes.Template:
    """Parse a template, raising :class:`TemplateError` with line information on bad syntax."""
    try:
        return _PARSER.parse(value)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error at line {exc.lineno}: {exc.message}") from None


@lru_cache(maxsize=8192)
def references(value: str) -> tuple[Ref, ...]:
    """Every name the template reads from its context, with constant attribute paths.

    Names bound inside the template (``{% for x in ... %}``, ``{% set %}``) are excluded.
    Templates made only of ``{{ name.path }}`` expressions (optionally with argument-less
    filters) are read by a regular expression; anything else is parsed by Jinja2. Both give the
    same answer (a property test checks it).
    """
    fast = _simple_references(value)
    return fast if fast is not None else jinja_references(value)


def jinja_references(value: str) -> tuple[Ref, ...]:
    """:func:`references` computed from Jinja2's parse tree."""
    tree = parse(value)
    bound = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    found: list[Ref] = []
    seen_inner: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if id(node) in seen_inner:
            continue
        root, path, inner = _chain(node)
        seen_inner.update(inner)
        if root is None or root in bound:
            continue
        ref = Ref(root, tuple(path))
        if ref not in found:
            found.append(ref)
    return tuple(found)


_EXPRESSION = re.compile(r"{{(.*?)}}", re.DOTALL)
_SIMPLE = re.compile(
    r"\s*(?P<root>[A-Za-z_]\w*)"
    r"(?P<path>(?:\.[A-Za-z_]\w*|\[\d+\]|\['[^'\\\n]*'\]|\[\"[^\"\\\n]*\"\])*)"
    r"\s*(?:\|\s*[A-Za-z_]\w*\s*)*",
    re.ASCII,
)
_PART = re.compile(r"\.(\w+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]", re.ASCII)
_JINJA_WORDS = frozenset(
    [
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "elif",
        "for",
        "endfor",
        "recursive",
        "import",
        "from",
        "with",
        "without",
        "context",
        "as",
        "set",
        "endset",
        "block",
        "endblock",
        "macro",
        "endmacro",
        "call",
        "endcall",
        "filter",
        "endfilter",
        "include",
        "extends",
        "raw",
        "endraw",
    ]
)


def _simple_references(value: str) -> tuple[Ref, ...] | None:
    """References of a template made only of simple ``{{ a.b[0]["c"] | f }}`` expressions,
    or None when the template needs the real parser."""
    if "{%" in value or "{#" in value:
        return None
    found: list[Ref] = []
    end = 0
    for m in _EXPRESSION.finditer(value):
        end = m.end()
        simple = _SIMPLE.fullmatch(m.group(1))
        if simple is None or simple.group("root") in _JINJA_WORDS:
            return None
        path: list[str | int] = []
        for part in _PART.finditer(simple.group("path")):
            attr, index, single, double = part.groups()
            if index is not None:
                path.append(int(index))
            else:
                path.append(attr if attr is not None else single if single is not None else double)
        ref = Ref(simple.group("root"), tuple(path))
        if ref not in found:
            found.append(ref)
    if "{{" in value[end:]:
        return None
    return tuple(found)


def _chain(node: nodes.Node) -> tuple[str | None, list[str | int], list[int]]:
    """Walk ``a.b['c'].d`` down to its Name; return root, constant path, ids of nodes covered."""
    path: list[str | int] = []
    covered: list[int] = []
    current = node
    while isinstance(current, (nodes.Getattr, nodes.Getitem)):
        covered.append(id(current))
        if isinstance(current, nodes.Getattr):
            path.insert(0, current.attr)
        elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, (str, int)):
            path.insert(0, current.arg.value)
        else:
            path.clear()  # dynamic index: keep only what precedes it
        current = current.node
    if isinstance(current, nodes.Name) and current.ctx == "load":
        covered.append(id(current))
        return current.name, path, covered
    return None, [], covered
