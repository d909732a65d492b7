"""The evaluation tree of the condition language (see :mod:`evopipe.spec.conditions`).

Nodes are frozen dataclasses; evaluation reads plain data only (mappings, lists, scalars) and
calls nothing but the whitelisted :data:`FUNCTIONS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from evopipe.spec.errors import ConditionError

# --------------------------------------------------------------------------- evaluation helpers


def _lookup(value: Any, key: Any, describe: Callable[[], str]) -> Any:
    """``value.key`` / ``value[key]`` on plain data, with a clear error naming the path."""
    if isinstance(value, Mapping):
        try:
            if key in value:
                return value[key]
        except TypeError:  # unhashable key
            pass
        raise ConditionError(f"{describe()} has no field {key!r}", name=describe())
    if isinstance(value, (list, tuple, str)) and isinstance(key, int) and not isinstance(key, bool):
        if -len(value) <= key < len(value):
            return value[key]
        raise ConditionError(f"{describe()} has no index {key}", name=describe())
    kind = "null" if value is None else type(value).__name__
    raise ConditionError(f"cannot read {key!r} of {describe()} (a {kind})", name=describe())


def _str_arg(fn: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConditionError(f"{fn}() expects a string, got {type(value).__name__}")
    return value


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConditionError(f"matches(): bad regular expression {pattern!r}: {exc}") from None


def _matches(text: Any, pattern: Any) -> bool:
    return _regex(_str_arg("matches", pattern)).search(_str_arg("matches", text)) is not None


def _contains(container: Any, item: Any) -> bool:
    return _membership(item, container)


def _minmax(pick: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        values = args[0] if len(args) == 1 else args
        if not isinstance(values, (list, tuple)) or not values:
            raise ConditionError(f"{pick.__name__}() needs a non-empty list or several values")
        return pick(values)

    return run


FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "len": (len, 1, 1),
    "lower": (lambda s: _str_arg("lower", s).lower(), 1, 1),
    "upper": (lambda s: _str_arg("upper", s).upper(), 1, 1),
    "contains": (_contains, 2, 2),
    "startswith": (
        lambda s, p: _str_arg("startswith", s).startswith(_str_arg("startswith", p)),
        2,
        2,
    ),
    "endswith": (lambda s, p: _str_arg("endswith", s).endswith(_str_arg("endswith", p)), 2, 2),
    "int": (int, 1, 1),
    "float": (float, 1, 1),
    "str": (str, 1, 1),
    "abs": (abs, 1, 1),
    "min": (_minmax(min), 1, 64),
    "max": (_minmax(max), 1, 64),
    "matches": (_matches, 2, 2),
}
"""The whitelisted functions: name → (implementation, min args, max args)."""


def _membership(item: Any, container: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise ConditionError(f"'in <string>' needs a string on the left, got {_tname(item)}")
        return item in container
    if isinstance(container, (Mapping, list, tuple)):
        try:
            return item in container
        except TypeError:
            return False
    raise ConditionError(
        f"'in' needs a list, mapping or string on the right, got {_tname(container)}"
    )


def _tname(value: Any) -> str:
    return "null" if value is None else type(value).__name__


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
    "in": lambda a, b: _membership(a, b),
    "not in": lambda a, b: not _membership(a, b),
}

# --------------------------------------------------------------------------- the tree


class Node:
    """A parsed expression node."""

    __slots__ = ()

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def text(self) -> str:
        return "<expression>"


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: Any

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class ListNode(Node):
    items: tuple[Node, ...]

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        return [item.evaluate(ns) for item in self.items]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        if self.name in ns:
            return ns[self.name]
        raise ConditionError(f"unknown name {self.name!r}", name=self.name)

    def text(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Field(Node):
    """``obj.key`` or ``obj["key"]`` / ``obj[0]``: a constant key."""

    obj: Node
    key: str | int

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        return _lookup(self.obj.evaluate(ns), self.key, self.obj.text)

    def children(self) -> tuple[Node, ...]:
        return (self.obj,)

    def text(self) -> str:
        return f"{self.obj.text()}.{self.key}"


@dataclass(frozen=True, slots=True)
class Index(Node):
    """``obj[expr]`` with a computed key."""

    obj: Node
    index: Node

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        return _lookup(self.obj.evaluate(ns), self.index.evaluate(ns), self.obj.text)

    def children(self) -> tuple[Node, ...]:
        return (self.obj, self.index)

    def text(self) -> str:
        return f"{self.obj.text()}[...]"


@dataclass(frozen=True, slots=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        fn = FUNCTIONS[self.func][0]
        values = [arg.evaluate(ns) for arg in self.args]
        try:
            return fn(*values)
        except ConditionError:
            raise
        except (TypeError, ValueError, OverflowError, re.error) as exc:
            raise ConditionError(f"{self.func}(): {exc}") from None

    def children(self) -> tuple[Node, ...]:
        return self.args


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        return not self.operand.evaluate(ns)

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Neg(Node):
    operand: Node

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        value = self.operand.evaluate(ns)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConditionError(f"cannot negate a {_tname(value)}")
        return -value

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    op: str  # "and" | "or"
    operands: tuple[Node, ...]

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        value: Any = None
        for operand in self.operands:
            value = operand.evaluate(ns)
            if (self.op == "and") != bool(value):
                return value
        return value

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True, slots=True)
class Compare(Node):
    first: Node
    rest: tuple[tuple[str, Node], ...]

    def evaluate(self, ns: Mapping[str, Any]) -> Any:
        left = self.first.evaluate(ns)
        for op, node in self.rest:
            right = node.evaluate(ns)
            try:
                ok = _COMPARE[op](left, right)
            except TypeError:
                raise ConditionError(
                    f"cannot compare {_tname(left)} {op} {_tname(right)}"
                ) from None
            if not ok:
                return False
            left = right
        return True

    def children(self) -> tuple[Node, ...]:
        return (self.first, *(node for _, node in self.rest))
