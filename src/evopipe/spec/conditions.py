"""The condition language of ``when``, ``until`` and switch cases: parsed and whitelisted.

Pipeline text is never handed to ``eval``. A condition is tokenised and parsed into a small tree
of frozen nodes, then evaluated against a namespace of plain data::

    steps.classify.output.label == "bug" and len(inputs.items) > 0
    loop.iteration >= 3 or matches(steps.review.output.verdict, "^(ok|approved)$")
    item["kind"] not in ["draft", "spam"]

Grammar (lowest precedence first)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := unary (("=="|"!="|"<"|"<="|">"|">="|"in"|"not in") unary)*
    unary      := "-" unary | postfix
    postfix    := primary ("." NAME | "." INT | "[" expr "]")*
    primary    := NUMBER | STRING | true | false | null | NAME | FUNC "(" args ")"
                | "(" expr ")" | "[" items "]"

Comparisons chain like Python's (``0 < x < 10``). ``and``/``or`` short-circuit and return one
of their operands. A Jinja-style wrapper ``{{ ... }}`` around the whole text is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from evopipe.spec._condition_tree import (
    FUNCTIONS,
    BoolOp,
    Call,
    Compare,
    Const,
    Field,
    Index,
    ListNode,
    Name,
    Neg,
    Node,
    Not,
)
from evopipe.spec.errors import ConditionError
from evopipe.spec.templates import Ref

__all__ = ["FUNCTIONS", "Condition", "ConditionError", "parse_condition"]

MAX_LENGTH = 10_000
MAX_DEPTH = 64

# --------------------------------------------------------------------------- the public object


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """A parsed condition. Immutable and cached: parse once, evaluate many times."""

    source: str
    root: Node
    refs: tuple[Ref, ...] = ()
    """Computed once at parse time (see :meth:`references`)."""

    def evaluate(self, namespace: Mapping[str, Any]) -> Any:
        """Value of the expression; :class:`ConditionError` names an unknown name or field."""
        try:
            return self.root.evaluate(namespace)
        except RecursionError:
            raise ConditionError("condition nested too deeply") from None

    def test(self, namespace: Mapping[str, Any]) -> bool:
        """Truth of the expression (``when``: run the step; ``until``: stop the loop)."""
        return bool(self.evaluate(namespace))

    def references(self) -> tuple[Ref, ...]:
        """Every name the condition reads, with its constant field path (like templates')."""
        return self.refs

    def is_constant(self) -> bool:
        """True when the condition reads no names at all (its value never changes)."""
        return not self.references()


def _references(root: Node) -> tuple[Ref, ...]:
    found: list[Ref] = []
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        chain = _chain(node)
        if chain is not None:
            ref, dynamic = chain
            if ref not in found:
                found.append(ref)
            stack.extend(dynamic)
            continue
        stack.extend(reversed(node.children()))
    return tuple(found)


def _chain(node: Node) -> tuple[Ref, list[Node]] | None:
    """``a.b[0][x].c`` → (Ref("a", ("b", 0)), [x]); None if ``node`` is not a name chain."""
    path: list[str | int] = []
    dynamic: list[Node] = []
    current = node
    while isinstance(current, (Field, Index)):
        if isinstance(current, Field):
            path.insert(0, current.key)
        else:
            dynamic.append(current.index)
            path.clear()
        current = current.obj
    if isinstance(current, Name):
        return Ref(current.name, tuple(path)), dynamic
    return None


# --------------------------------------------------------------------------- tokens and parser

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.|-)
    """,
    re.VERBOSE,
)
_INT = re.compile(r"\d+")
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_KEYWORDS = frozenset({"and", "or", "not", "in"})
_CONSTANTS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "True": True,
    "False": False,
    "None": None,
}
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "0": "\0",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "/": "/",
}
_WRAPPED = re.compile(r"^\s*{{(.*)}}\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # num | str | name | op | end
    value: str
    col: int  # 1-based, in the original text


def _unescape(body: str, col: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
            continue
        if nxt not in _ESCAPES:
            raise ConditionError(f"unknown escape \\{nxt} in string", column=col + i + 1)
        out.append(_ESCAPES[nxt])
        i += 2
    text = "".join(out)
    try:  # join UTF-16 surrogate pairs written as two \u escapes (as JSON does)
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return text


def _tokenize(text: str, offset: int) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        col = offset + pos + 1
        if tokens and tokens[-1].value == "." and (m := _INT.match(text, pos)):
            tokens.append(_Token("num", m.group(), col))
            pos = m.end()
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "\"'":
                raise ConditionError("unterminated string", column=col)
            if ch == "=":
                raise ConditionError("use '==' to compare, not '='", column=col)
            raise ConditionError(f"unexpected character {ch!r}", column=col)
        kind = m.lastgroup or "ws"
        if kind != "ws":
            value = m.group()
            if kind == "str":
                value = _unescape(value[1:-1], col)
            tokens.append(_Token(kind, value, col))
        pos = m.end()
    tokens.append(_Token("end", "", offset + len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def at(self, value: str, kind: str | None = None) -> bool:
        t = self.tok
        return t.value == value and t.kind in ((kind,) if kind else ("op", "name"))

    def advance(self) -> _Token:
        t = self.tokens[self.pos]
        self.pos += 1
        return t

    def expect(self, value: str) -> None:
        if not self.at(value, "op"):
            raise ConditionError(f"expected {value!r}, found {self._found()}", column=self.tok.col)
        self.advance()

    def _found(self) -> str:
        t = self.tok
        return "end of condition" if t.kind == "end" else repr(t.value)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ConditionError("empty condition", column=self.tok.col)
        node = self.expr()
        if self.tok.kind != "end":
            raise ConditionError(f"unexpected {self._found()}", column=self.tok.col)
        return node

    def expr(self) -> Node:
        return self._nested(lambda: self._bool("or", lambda: self._bool("and", self.not_)))

    def _nested(self, parse: Callable[[], Node]) -> Node:
        """``parse()`` one level deeper; refused past :data:`MAX_DEPTH` levels."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError("condition nested too deeply", column=self.tok.col)
        try:
            return parse()
        finally:
            self.depth -= 1

    def _bool(self, op: str, sub: Callable[[], Node]) -> Node:
        operands = [sub()]
        while self.at(op, "name"):
            self.advance()
            operands.append(sub())
        return operands[0] if len(operands) == 1 else BoolOp(op, tuple(operands))

    def not_(self) -> Node:
        if self.at("not", "name"):
            self.advance()
            return Not(self._nested(self.not_))
        return self.comparison()

    def comparison(self) -> Node:
        first = self.unary()
        rest: list[tuple[str, Node]] = []
        while True:
            t = self.tok
            if (t.kind == "op" and t.value in ("==", "!=", "<", "<=", ">", ">=")) or self.at(
                "in", "name"
            ):
                op = self.advance().value
            elif self.at("not", "name") and self.tokens[self.pos + 1].value == "in":
                self.pos += 2
                op = "not in"
            else:
                break
            rest.append((op, self.unary()))
        return Compare(first, tuple(rest)) if rest else first

    def unary(self) -> Node:
        if self.at("-", "op"):
            self.advance()
            operand = self._nested(self.unary)
            if isinstance(operand, Const) and _is_number(operand.value):
                return Const(-operand.value)
            return Neg(operand)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.at(".", "op"):
                self.advance()
                t = self.advance()
                if t.kind == "name":
                    node = Field(node, t.value)
                elif t.kind == "num" and t.value.isdigit():
                    node = Field(node, int(t.value))
                else:
                    found = "end of condition" if t.kind == "end" else repr(t.value)
                    raise ConditionError(
                        f"expected a field name after '.', found {found}", column=t.col
                    )
            elif self.at("[", "op"):
                self.advance()
                index = self.expr()
                self.expect("]")
                node = _index(node, index)
            else:
                return node

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.advance()
            return Const(_number(t))
        if t.kind == "str":
            self.advance()
            return Const(t.value)
        if t.kind == "name":
            return self._name()
        if self.at("(", "op"):
            self.advance()
            node = self.expr()
            self.expect(")")
            return node
        if self.at("[", "op"):
            self.advance()
            return ListNode(tuple(self._items("]")))
        raise ConditionError(f"expected a value, found {self._found()}", column=t.col)

    def _name(self) -> Node:
        t = self.advance()
        if t.value in _KEYWORDS:
            raise ConditionError(f"expected a value, found {t.value!r}", column=t.col)
        if t.value in _CONSTANTS:
            return Const(_CONSTANTS[t.value])
        if not self.at("(", "op"):
            return Name(t.value)
        if t.value not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ConditionError(f"unknown function {t.value!r} (known: {known})", column=t.col)
        self.advance()
        args = self._items(")")
        _, low, high = FUNCTIONS[t.value]
        if not low <= len(args) <= high:
            want = str(low) if low == high else f"{low} to {high}"
            raise ConditionError(
                f"{t.value}() takes {want} argument(s), got {len(args)}", column=t.col
            )
        return Call(t.value, tuple(args))

    def _items(self, close: str) -> list[Node]:
        items: list[Node] = []
        while not self.at(close, "op"):
            items.append(self.expr())
            if not self.at(close, "op"):
                self.expect(",")
        self.advance()
        return items


def _index(node: Node, index: Node) -> Node:
    if isinstance(index, Const) and (
        isinstance(index.value, str)
        or (isinstance(index.value, int) and not isinstance(index.value, bool))
    ):
        return Field(node, index.value)
    return Index(node, index)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(t: _Token) -> int | float:
    try:
        if any(c in t.value for c in ".eE"):
            return float(t.value)
        return int(t.value)
    except (ValueError, OverflowError):
        raise ConditionError(f"bad number {t.value!r}", column=t.col) from None


def _unwrap(src: str) -> tuple[str, int]:
    """Strip a whole-text ``{{ ... }}``; return the expression and its offset in ``src``."""
    m = _WRAPPED.match(src)
    if m and "{{" not in m.group(1) and "}}" not in m.group(1):
        return m.group(1), m.start(1)
    return src, 0


@lru_cache(maxsize=8192)
def parse_condition(src: str) -> Condition:
    """Parse a condition; raise :class:`ConditionError` with the 1-based ``column`` of the
    problem in ``src``. Parses are cached (conditions are immutable)."""
    if not isinstance(src, str):
        raise ConditionError(f"a condition must be a string, got {type(src).__name__}", column=1)
    if len(src) > MAX_LENGTH:
        raise ConditionError(f"condition longer than {MAX_LENGTH} characters", column=1)
    text, offset = _unwrap(src)
    root = _Parser(_tokenize(text, offset)).parse()
    return Condition(src, root, _references(root))
