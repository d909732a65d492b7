"""A fast path for the loader: build plain data and locations straight from libyaml's events.

Composing a node tree and walking it costs about twice as much as reading the event stream
once. This path handles the documents people and generators actually write (plain, quoted and
block scalars, mappings, sequences) and gives up — returning None — on anything unusual:
explicit tags, anchors and aliases, merge keys, complex or null keys, duplicate keys, several
documents, over-deep nesting or any parse error. The loader then takes the general path, which
reports those cases with located diagnostics. Both paths produce identical results (a property
test checks it).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

PathKey = tuple[str | int, ...]
Positions = dict[PathKey, tuple[int, int]]

MAX_DEPTH = 100
_STR = "tag:yaml.org,2002:str"
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = (
    yaml.resolver.Resolver.yaml_implicit_resolvers
)
_CLoader: type[Any] | None = getattr(yaml, "CSafeLoader", None)


class _GiveUp(Exception):
    """This document needs the general path."""


def fast_parse(text: str, positions: bool = True) -> tuple[Any, Positions, Positions] | None:
    """(data, value positions, key positions), or None to use the general path.

    ``positions=False`` skips the position tables (they come back empty): most documents are
    valid, and the loader computes positions only when a diagnostic needs one."""
    if _CLoader is None:
        return None
    loader = _CLoader(text)
    try:
        return _Reader(loader, positions).document()
    except (_GiveUp, yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()


class _Reader:
    def __init__(self, loader: Any, positions: bool) -> None:
        self.next = loader.get_event
        self.positions = positions
        self.values: Positions = {}
        self.keys: Positions = {}
        self.constructor = yaml.SafeLoader("")

    def document(self) -> tuple[Any, Positions, Positions]:
        self.next()  # stream start
        event = self.next()
        if type(event) is StreamEndEvent:
            return None, self.values, self.keys
        if type(event) is not DocumentStartEvent:
            raise _GiveUp
        data = self.node(self.next(), (), 0)
        if type(self.next()) is not DocumentEndEvent:
            raise _GiveUp
        if type(self.next()) is not StreamEndEvent:
            raise _GiveUp  # several documents: the general path explains
        return data, self.values, self.keys

    def node(self, event: Any, where: PathKey, depth: int) -> Any:
        if event.anchor is not None or depth > MAX_DEPTH:
            raise _GiveUp  # anchors, aliases (an alias's anchor is its name), deep nesting
        if self.positions:
            mark = event.start_mark
            self.values[where] = (mark.line + 1, mark.column + 1)
        cls = type(event)
        if cls is ScalarEvent:
            return self.scalar(event)
        if event.tag is not None:
            raise _GiveUp
        if cls is MappingStartEvent:
            return self.mapping(where, depth)
        if cls is SequenceStartEvent:
            items: list[Any] = []
            next_event = self.next
            event = next_event()
            record = self.positions
            while type(event) is not SequenceEndEvent:
                path = (*where, len(items)) if record else where
                items.append(self.node(event, path, depth + 1))
                event = next_event()
            return items
        raise _GiveUp

    def mapping(self, where: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        keys = self.keys
        next_event = self.next
        event = next_event()
        while type(event) is not MappingEndEvent:
            if type(event) is not ScalarEvent or event.anchor is not None:
                raise _GiveUp
            key = self.scalar(event)
            if type(key) is not str:
                if key is None or not isinstance(key, (int, float, bool)):
                    raise _GiveUp
                key = str(key)
            elif key == "<<":
                raise _GiveUp
            if key in out:
                raise _GiveUp
            path = (*where, key) if self.positions else where
            if self.positions:
                mark: Any = event.start_mark
                keys[path] = (mark.line + 1, mark.column + 1)
            out[key] = self.node(next_event(), path, depth + 1)
            event = next_event()
        return out

    def scalar(self, event: Any) -> Any:
        if event.tag is not None:
            raise _GiveUp
        value = event.value
        if not event.implicit[0] or not _RESOLVERS.get(value[:1]):
            return value  # quoted, or plain and no implicit type starts with this character
        tag = _resolve(value)
        if tag == _STR:
            return value
        if tag == "tag:yaml.org,2002:merge":
            raise _GiveUp
        node = yaml.ScalarNode(tag, value, None, None, event.style)
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            raise _GiveUp from None


def _resolve(value: str) -> str:
    """The implicit tag of a plain scalar (as PyYAML's resolver decides it)."""
    for tag, regexp in _RESOLVERS.get(value[:1] if value else "", ()):
        if regexp.match(value):
            return tag
    return _STR
