"""Deterministic example values for any JSON Schema (the engine of :class:`FakeModel`).

``example_for(schema, seed)`` walks the schema and builds a value that satisfies it: types,
``enum``/``const``, object ``properties``/``required``, array ``items``/``prefixItems`` with
``minItems``/``maxItems``, string lengths, formats and (best effort) ``pattern``, numeric bounds and
``multipleOf``, local ``$ref``/``$defs``, ``allOf``/``anyOf``/``oneOf``. The result is checked with
``jsonschema``; when a branch fails, the next one is tried.
"""

from __future__ import annotations

import importlib
import math
import random
import string
from collections.abc import Callable
from typing import Any

import jsonschema

from evopipe.models.base import ModelError

_sre: Any = importlib.import_module("re._parser")
_sre_c: Any = importlib.import_module("re._constants")

_WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
_MAX_DEPTH = 12


class SchemaExampleError(ModelError):
    """No value satisfying the schema could be built."""


def example_for(schema: dict[str, Any] | bool, seed: int = 0) -> Any:
    """A value valid against ``schema``, deterministic for a given ``seed``."""
    if schema is True or schema == {}:
        return {}
    builder = _Builder(schema, random.Random(seed))
    candidates = [builder.build(schema, 0)]
    if not _is_valid(schema, candidates[0]):
        for attempt in range(1, 8):
            builder.rng = random.Random(seed * 31 + attempt)
            value = builder.build(schema, 0)
            if _is_valid(schema, value):
                return value
        raise SchemaExampleError("could not build an example value for the output schema")
    return candidates[0]


def _is_valid(schema: Any, value: Any) -> bool:
    try:
        validator_cls = jsonschema.validators.validator_for(schema)
        return bool(validator_cls(schema).is_valid(value))
    except (jsonschema.exceptions.SchemaError, jsonschema.exceptions.RefResolutionError):
        return False


class _Builder:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self._by_type: dict[str, Callable[[dict[str, Any], int], Any]] = {
            "object": self._object,
            "array": self._array,
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "boolean": lambda s, d: self.rng.random() < 0.5,
            "null": lambda s, d: None,
        }

    def build(self, schema: Any, depth: int) -> Any:
        if schema is True or not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            return self.build(self._resolve(schema["$ref"]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self.rng.choice(list(schema["enum"]))
        if "allOf" in schema:
            return self.build(self._merge(schema), depth)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return self._branch(schema, key, depth)
        return self._by_type[self._type(schema)](schema, depth)

    def _branch(self, schema: dict[str, Any], key: str, depth: int) -> Any:
        base = {k: v for k, v in schema.items() if k != key}
        options = list(schema[key])
        if depth >= _MAX_DEPTH:  # prefer the simplest branch deep down (recursive schemas)
            options.sort(key=lambda o: len(str(o)))
        for option in options:
            merged = self._merge({"allOf": [base, option]}) if base else option
            value = self.build(merged, depth + 1)
            if _is_valid(_with_defs(self.root, schema), value):
                return value
        return self.build(options[0], depth + 1)

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise SchemaExampleError(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for part in ref.lstrip("#").split("/"):
            if part:
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _merge(self, schema: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema.get("allOf", []):
            part = self._resolve(part["$ref"]) if "$ref" in part else part
            part = self._merge(part) if "allOf" in part else part
            for k, v in part.items():
                if k in ("properties", "$defs", "definitions") and k in out:
                    out[k] = {**out[k], **v}
                elif k == "required" and k in out:
                    out[k] = list(dict.fromkeys([*out[k], *v]))
                else:
                    out.setdefault(k, v)
        return out

    def _type(self, schema: dict[str, Any]) -> str:
        t = schema.get("type")
        if isinstance(t, list):
            non_null = [x for x in t if x != "null"]
            return str(non_null[0] if non_null else "null")
        if isinstance(t, str):
            return t
        for hint, name in (("properties", "object"), ("items", "array"), ("pattern", "string")):
            if hint in schema:
                return name
        if "minimum" in schema or "maximum" in schema:
            return "number"
        return "string"

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        required = list(schema.get("required", []))
        keys = list(props) if depth < _MAX_DEPTH else [k for k in props if k in required]
        out = {k: self.build(props.get(k, {}), depth + 1) for k in dict.fromkeys(keys + required)}
        extra = schema.get("additionalProperties")
        needed = int(schema.get("minProperties", 0)) - len(out)
        for i in range(max(0, needed)):
            out[f"extra_{i}"] = self.build(extra if isinstance(extra, dict) else {}, depth + 1)
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        prefix = list(schema.get("prefixItems", []))
        items = schema.get("items", {})
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(low, len(prefix), 2)))
        size = min(high, max(low, len(prefix), 0 if depth >= _MAX_DEPTH else min(2, high)))
        out = [self.build(s, depth + 1) for s in prefix[:size]]
        seen: set[str] = {repr(v) for v in out}
        tries = 0
        while len(out) < size and tries < size * 10 + 10:
            tries += 1
            value = self.build(items if isinstance(items, dict) else {}, depth + 1)
            if schema.get("uniqueItems") and repr(value) in seen:
                continue
            seen.add(repr(value))
            out.append(value)
        return out

    def _string(self, schema: dict[str, Any], depth: int) -> str:
        fmt = _FORMATS.get(str(schema.get("format", "")))
        if fmt is not None:
            return fmt(self.rng)
        if "pattern" in schema:
            text = _from_regex(str(schema["pattern"]), self.rng)
        else:
            text = " ".join(self.rng.choice(_WORDS) for _ in range(3))
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None and len(text) > int(high):
            text = text[: int(high)]
        return text

    def _integer(self, schema: dict[str, Any], depth: int) -> int:
        low, high = _bounds(schema, integer=True)
        value = self.rng.randint(math.ceil(low), math.floor(high))
        step = schema.get("multipleOf")
        if step:
            value = int(math.ceil(low / step) * step)
        return value

    def _number(self, schema: dict[str, Any], depth: int) -> float | int:
        low, high = _bounds(schema, integer=False)
        step = schema.get("multipleOf")
        if step:
            return float(math.ceil(low / step) * step)
        return round(low + (high - low) * self.rng.random(), 3) if high > low else low


def _with_defs(root: Any, schema: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(root, dict) or schema is root:
        return schema
    defs = {k: root[k] for k in ("$defs", "definitions") if k in root}
    return {**schema, **defs}


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    eps = 1 if integer else 1e-6
    low = float(schema.get("minimum", -math.inf))
    high = float(schema.get("maximum", math.inf))
    if "exclusiveMinimum" in schema:
        low = max(low, float(schema["exclusiveMinimum"]) + eps)
    if "exclusiveMaximum" in schema:
        high = min(high, float(schema["exclusiveMaximum"]) - eps)
    if math.isinf(low) and math.isinf(high):
        low, high = 0.0, 100.0
    elif math.isinf(low):
        low = high - 100
    elif math.isinf(high):
        high = low + 100
    return low, high


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date": lambda r: f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "date-time": lambda r: f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T12:00:00Z",
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z",
    "email": lambda r: f"{r.choice(_WORDS)}@example.com",
    "uri": lambda r: f"https://example.com/{r.choice(_WORDS)}",
    "url": lambda r: f"https://example.com/{r.choice(_WORDS)}",
    "uuid": lambda r: (
        f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-4{r.getrandbits(12):03x}-8{r.getrandbits(12):03x}-{r.getrandbits(48):012x}"
    ),
    "ipv4": lambda r: ".".join(str(r.randint(1, 254)) for _ in range(4)),
    "hostname": lambda r: f"{r.choice(_WORDS)}.example.com",
}


def _from_regex(pattern: str, rng: random.Random) -> str:
    """A string matching ``pattern`` (best effort: literals, classes, repeats, groups, |)."""
    try:
        parsed = _sre.parse(pattern)
    except Exception:  # an invalid pattern: fall back to plain text
        return rng.choice(_WORDS)
    return _emit(list(parsed), rng, {})


def _emit(items: list[Any], rng: random.Random, groups: dict[int, str]) -> str:
    return "".join(_emit_one(op, arg, rng, groups) for op, arg in items)


def _emit_one(op: Any, arg: Any, rng: random.Random, groups: dict[int, str]) -> str:
    c = _sre_c
    if op is c.LITERAL:
        return chr(arg)
    if op is c.NOT_LITERAL:
        return "a" if chr(arg) != "a" else "b"
    if op is c.ANY:
        return rng.choice(string.ascii_letters)
    if op is c.IN:
        return _emit_class(arg, rng)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, high, sub = arg
        count = rng.randint(low, min(high, low + 3) if high != c.MAXREPEAT else low + 3)
        return "".join(_emit(list(sub), rng, groups) for _ in range(count))
    if op is c.SUBPATTERN:
        group, _add, _del, sub = arg
        text = _emit(list(sub), rng, groups)
        if group:
            groups[group] = text
        return text
    if op is c.BRANCH:
        return _emit(list(rng.choice(arg[1])), rng, groups)
    if op is c.GROUPREF:
        return groups.get(arg, "")
    if op is c.CATEGORY:
        return _emit_category(arg, rng)
    return ""  # anchors (AT), lookarounds and the rest emit nothing


def _emit_class(items: list[Any], rng: random.Random) -> str:
    c = _sre_c
    if items and items[0][0] is c.NEGATE:
        banned = {chr(a) for op, a in items[1:] if op is c.LITERAL}
        return next(ch for ch in "abcxyz0" if ch not in banned)
    op, arg = rng.choice(items)
    if op is c.LITERAL:
        return chr(arg)
    if op is c.RANGE:
        return chr(rng.randint(arg[0], arg[1]))
    if op is c.CATEGORY:
        return _emit_category(arg, rng)
    return "a"


def _emit_category(cat: Any, rng: random.Random) -> str:
    c = _sre_c
    if cat is c.CATEGORY_DIGIT:
        return rng.choice(string.digits)
    if cat is c.CATEGORY_SPACE:
        return " "
    if cat is c.CATEGORY_WORD:
        return rng.choice(string.ascii_letters + string.digits + "_")
    return rng.choice(string.ascii_letters) if "NOT_DIGIT" in str(cat) else "-"
