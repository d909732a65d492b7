"""Safe YAML → typed :class:`Pipeline`, with every error located at file:line:column.

PyYAML composes a node tree (no Python objects are constructed from tags); we build plain values
from it ourselves and remember where each path starts. Pydantic validation errors are then mapped
back to those locations and given stable rule names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evopipe.spec import catalog
from evopipe.spec._fastyaml import fast_parse
from evopipe.spec._steps_union import PLUGIN_TAG
from evopipe.spec.errors import Diagnostic, SpecError
from evopipe.spec.kinds import KIND_MODELS
from evopipe.spec.pipeline import Pipeline

_COMPOSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when available (about 10x faster); it composes the same node tree."""
_STR_TAG = "tag:yaml.org,2002:str"

PathKey = tuple[str | int, ...]
"""A path into a document: ``("steps", 2, "needs", 0)``."""


@dataclass(frozen=True)
class Source:
    """A parsed document: plain data plus where each path (and each mapping key) starts."""

    data: Any
    path: str
    text: str
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    lazy: bool = False
    """Positions are computed from ``text`` on the first :meth:`locate` (valid documents,
    the common case, never pay for them)."""

    def locate(self, where: PathKey, *, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of a path; the nearest located ancestor when not exact."""
        if self.lazy and not self.values:
            self._fill_positions()
        table = self.keys if key else self.values
        probe = tuple(where)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def _fill_positions(self) -> None:
        found = fast_parse(self.text, positions=True)
        if found is None:  # the text needed the general path: compose it again
            builder = _Builder(self.path)
            node = yaml.compose(self.text, Loader=_COMPOSER)
            if node is not None:
                builder.build(node, ())
            found = (None, builder.values, builder.keys)
        self.values.update(found[1])
        self.keys.update(found[2])


@dataclass(frozen=True)
class Loaded:
    """A loaded, schema-valid pipeline together with its source (for locations)."""

    pipeline: Pipeline
    source: Source


def format_where(where: PathKey) -> str:
    """``("steps", 2, "needs", 0)`` → ``steps[2].needs[0]``."""
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_yaml(text: str, path: str = "<string>") -> Source:
    """Parse YAML safely into a :class:`Source`; raise :class:`SpecError` (``yaml-syntax``,
    ``duplicate-key``) on malformed text."""
    fast = fast_parse(text, positions=False)
    if fast is not None:
        return Source(data=fast[0], path=path, text=text, lazy=True)
    try:
        _check_depth(text, path)  # libyaml composes recursively: a deep text would crash it
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc)
        raise SpecError(
            [Diagnostic("yaml-syntax", message, path=path, line=line, column=col)]
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(
            [Diagnostic("yaml-syntax", str(exc), path=path, line=1, column=1)]
        ) from None
    builder = _Builder(path)
    try:
        data = builder.build(node, ()) if node is not None else None
    except _TooBig as exc:
        raise SpecError([exc.diagnostic]) from None
    if builder.problems:
        raise SpecError(builder.problems)
    return Source(data=data, path=path, text=text, values=builder.values, keys=builder.keys)


MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences a document may have."""
MAX_NODES = 200_000
"""Most values a document may expand to (guards against alias bombs)."""


def _check_depth(text: str, path: str) -> None:
    """Refuse a document nested deeper than :data:`MAX_DEPTH` from its parse events (libyaml's
    parser keeps an explicit stack; its composer recurses and would overflow the C stack)."""
    depth = 0  # the builder's depth of the collection being opened, plus one
    for event in yaml.parse(text, Loader=_COMPOSER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH + 1:
                line, col = (
                    (event.start_mark.line, event.start_mark.column) if event.start_mark else (0, 0)
                )
                message = f"document nested deeper than {MAX_DEPTH} levels"
                diagnostic = Diagnostic(
                    "yaml-syntax", message, path=path, line=line + 1, column=col + 1
                )
                raise SpecError([diagnostic])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _TooBig(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self.values: dict[PathKey, tuple[int, int]] = {}
        self.keys: dict[PathKey, tuple[int, int]] = {}
        self.problems: list[Diagnostic] = []
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, where: PathKey, depth: int = 0) -> Any:
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_NODES:
            what = (
                f"nested deeper than {MAX_DEPTH} levels"
                if depth > MAX_DEPTH
                else (f"more than {MAX_NODES} values (alias expansion?)")
            )
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            raise _TooBig(
                Diagnostic("yaml-syntax", f"document {what}", path=self.path, line=line, column=col)
            )
        self.values[where] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*where, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, where)

    def _mapping(self, node: yaml.MappingNode, where: PathKey, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._problem("yaml-syntax", "merge keys (<<) are not supported", key_node)
                continue
            key = self._scalar(key_node, where) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)) or key is None:
                self._problem("yaml-syntax", "mapping keys must be plain scalars", key_node)
                continue
            skey = str(key) if not isinstance(key, str) else key
            if skey in out:
                self._problem("duplicate-key", f"key {skey!r} appears twice", key_node)
                continue
            self.keys[(*where, skey)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[skey] = self.build(value_node, (*where, skey), depth + 1)
        return out

    def _scalar(self, node: yaml.Node, where: PathKey) -> Any:
        if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
            return node.value
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self._problem("yaml-syntax", f"bad scalar: {exc}", node)
            return None
        except (ValueError, OverflowError) as exc:
            self._problem("yaml-syntax", f"bad scalar: {exc}", node)
            return None

    def _problem(self, rule: str, message: str, node: yaml.Node) -> None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        self.problems.append(Diagnostic(rule, message, path=self.path, line=line, column=col))


_RULE_BY_PYDANTIC_TYPE = {
    "extra_forbidden": "unknown-key",
    "missing": "missing-field",
    "union_tag_invalid": "unknown-kind",
    "union_tag_not_found": "missing-field",
}


def validation_diagnostics(exc: ValidationError, source: Source) -> list[Diagnostic]:
    """Map pydantic errors onto located diagnostics with stable rule names."""
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        where = _strip_union_tags(tuple(err["loc"]))
        rule = _RULE_BY_PYDANTIC_TYPE.get(err["type"], "bad-type")
        if rule == "unknown-kind":
            where = (*where, "kind")
        is_key = rule == "unknown-key"
        if rule == "missing-field":
            line, col = source.locate(where[:-1])
        else:
            line, col = source.locate(where, key=is_key)
        message, hint = _describe(err, where, rule)
        out.append(
            Diagnostic(
                rule,
                message,
                path=source.path,
                line=line,
                column=col,
                where=format_where(where),
                hint=hint,
            )
        )
    return out


def _strip_union_tags(loc: tuple[Any, ...]) -> PathKey:
    """Pydantic puts the discriminator value (``llm``) and union member names (``str``,
    ``Pipeline``) into error paths; they are not part of the document."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            part in KIND_MODELS or part in {"str", "Pipeline", "function-after[...]", PLUGIN_TAG}
        ):
            continue
        if isinstance(part, str) and part.startswith(("function-", "tagged-union[")):
            continue
        out.append(part)
    return tuple(out)


def _describe(err: Any, where: PathKey, rule: str) -> tuple[str, str]:
    name = where[-1] if where else "document"
    if rule == "unknown-key":
        return f"unknown key {name!r}", "remove it or check its spelling (see `evopipe schema`)"
    if rule == "missing-field":
        return f"missing required field {name!r}", ""
    if rule == "unknown-kind":
        known = catalog.known_text()
        raw = err.get("input")
        kind = raw.get("kind") if isinstance(raw, dict) else raw
        return f"unknown step kind {kind!r}", f"use one of: {known}"
    return f"{format_where(where) or 'document'}: {err['msg']}", ""


def load_source(source: Source) -> Pipeline:
    """Validate parsed data into a :class:`Pipeline`; raise :class:`SpecError` if invalid."""
    if not isinstance(source.data, dict):
        raise SpecError(
            [
                Diagnostic(
                    "bad-type",
                    "a pipeline document must be a mapping",
                    path=source.path,
                    line=1,
                    column=1,
                )
            ]
        )
    try:
        return Pipeline.model_validate(source.data)
    except ValidationError as exc:
        raise SpecError(validation_diagnostics(exc, source)) from None


def loads(text: str, path: str = "<string>") -> Loaded:
    """Parse and validate YAML text."""
    source = parse_yaml(text, path)
    return Loaded(load_source(source), source)


def load_file(path: str | Path) -> Loaded:
    """Read, parse and validate a pipeline file (no semantic checks: see ``evopipe.check``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(
            [
                Diagnostic(
                    "file-unreadable", f"cannot read file: {exc}", path=str(p), line=0, column=0
                )
            ]
        ) from None
    return loads(text, str(p))
