"""Generic decision tools of the toolbox: ``compare``, ``select`` and ``logic``.

Registered by :mod:`evopipe.steps.toolbox`. Pure functions; errors are ``ValueError`` (the
toolbox turns them into ``ToolError`` naming the tool). ``logic`` is a recursive-descent parser
of boolean expressions, never ``eval``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

Op = Literal["<", "<=", ">", ">=", "==", "!="]

_NUM = re.compile(r"\s*[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s*")


def _number(value: Any) -> float | None:
    """A number for ``value`` (numeric strings parsed; thousands separators allowed), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUM.fullmatch(value):
        return float(value.replace(",", ""))
    return None


def _pair(a: Any, b: Any, items: list[Any] | None) -> tuple[Any, Any]:
    if items is not None:
        if a is not None or b is not None:
            raise ValueError("give 'items' or 'a' and 'b', not both")
        if len(items) != 2:
            raise ValueError(f"'items' must hold exactly 2 values, got {len(items)}")
        return items[0], items[1]
    if a is None or b is None:
        raise ValueError("needs 'a' and 'b' (or 'items' with two values)")
    return a, b


def compare(
    a: Any = None,
    b: Any = None,
    items: list[Any] | None = None,
    op: Op = "<",
    yes: Any = True,
    no: Any = False,
) -> Any:
    """Compare two values: ``a OP b`` (or the two ``items``) → ``yes`` when true, else ``no``.

    Numbers (and numeric strings, ``"1,200"``) compare as numbers; otherwise both compare as
    case-folded strings. ``compare(a=3, b="10", op="<")`` → true;
    ``compare(items=["7", "5"], op=">", yes="Yes", no="No")`` → ``"Yes"``.
    """
    left, right = _pair(a, b, items)
    x, y = _number(left), _number(right)
    if x is not None and y is not None:
        return yes if _holds(x, y, op) else no
    return yes if _holds(str(left).casefold(), str(right).casefold(), op) else no


def _holds(x: Any, y: Any, op: str) -> bool:
    return bool(
        {
            "<": x < y,
            "<=": x <= y,
            ">": x > y,
            ">=": x >= y,
            "==": x == y,
            "!=": x != y,
        }[op]
    )


def select(items: list[Any], index: int = 0) -> Any:
    """The item at ``index`` (0 the first, -1 the last); an error when out of range."""
    if not -len(items) <= index < len(items):
        raise ValueError(f"index {index} out of range for {len(items)} item(s)")
    return items[index]


_LOGIC_TOKEN = re.compile(r"\s*(True|False|true|false|not|and|or|\(|\))", re.ASCII)


def logic(expression: str) -> bool:
    """Evaluate a boolean expression of ``True``/``False``, ``not``, ``and``, ``or`` and
    parentheses with the usual precedence (not > and > or): ``"not ( True ) and ( True )"`` →
    false. Anything else in the text is an error; at most 1,000 characters."""
    if len(expression) > 1000:
        raise ValueError("expression longer than 1000 characters")
    tokens: list[str] = []
    pos, text = 0, expression.rstrip()
    while pos < len(text):
        m = _LOGIC_TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"unexpected text {text[pos:].strip()[:12]!r} at position {pos}")
        tokens.append(m.group(1).capitalize() if m.group(1) in ("true", "false") else m.group(1))
        pos = m.end()
    parser = _Logic(tokens)
    value = parser.disjunction(0)
    if parser.pos != len(tokens):
        raise ValueError(f"unexpected {tokens[parser.pos]!r}")
    return value


class _Logic:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _next(self) -> str:
        if self.pos >= len(self.tokens):
            raise ValueError("expression ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def disjunction(self, depth: int) -> bool:
        return any(self._operands("or", self.conjunction, depth))

    def conjunction(self, depth: int) -> bool:
        return all(self._operands("and", self.negation, depth))

    def _operands(self, word: str, operand: Callable[[int], bool], depth: int) -> list[bool]:
        """Every operand of a chain joined by ``word`` (all are parsed: no short circuit)."""
        values = [operand(depth)]
        while self._peek() == word:
            self._next()
            values.append(operand(depth))
        return values

    def negation(self, depth: int) -> bool:
        if depth > 100:
            raise ValueError("nesting deeper than 100 levels")
        if self._peek() == "not":
            self._next()
            return not self.negation(depth + 1)
        tok = self._next()
        if tok == "(":
            value = self.disjunction(depth + 1)
            if self._next() != ")":
                raise ValueError("missing ')'")
            return value
        if tok in ("True", "False"):
            return tok == "True"
        raise ValueError(f"unexpected {tok!r}")
