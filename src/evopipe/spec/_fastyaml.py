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
    AliasEvent,
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


def fast_parse(text: str) -> tuple[Any, Positions, Positions] | None:
    """(data, value positions, key positions), or None to use the general path."""
    if _CLoader is None:
        return None
    loader = _CLoader(text)
    try:
        return _Reader(loader).document()
    except (_GiveUp, yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()


class _Reader:
    def __init__(self, loader: Any) -> None:
        self.next = loader.get_event
        self.values: Positions = {}
        self.keys: Positions = {}
        self.constructor = yaml.SafeLoader("")

    def document(self) -> tuple[Any, Positions, Positions]:
        self.next()  # stream start
        event = self.next()
        if isinstance(event, StreamEndEvent):
            return None, self.values, self.keys
        if not isinstance(event, DocumentStartEvent):
            raise _GiveUp
        data = self.node(self.next(), (), 0)
        if not isinstance(self.next(), DocumentEndEvent):
            raise _GiveUp
        if not isinstance(self.next(), StreamEndEvent):
            raise _GiveUp  # several documents: the general path explains
        return data, self.values, self.keys

    def node(self, event: Any, where: PathKey, depth: int) -> Any:
        if depth > MAX_DEPTH or isinstance(event, AliasEvent) or event.anchor is not None:
            raise _GiveUp
        mark = event.start_mark
        self.values[where] = (mark.line + 1, mark.column + 1)
        if isinstance(event, ScalarEvent):
            return self.scalar(event)
        if event.tag is not None:
            raise _GiveUp
        if isinstance(event, SequenceStartEvent):
            items: list[Any] = []
            event = self.next()
            while not isinstance(event, SequenceEndEvent):
                items.append(self.node(event, (*where, len(items)), depth + 1))
                event = self.next()
            return items
        if isinstance(event, MappingStartEvent):
            return self.mapping(where, depth)
        raise _GiveUp

    def mapping(self, where: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        event = self.next()
        while not isinstance(event, MappingEndEvent):
            if not isinstance(event, ScalarEvent) or event.anchor is not None:
                raise _GiveUp
            key = self.scalar(event)
            if key is None or not isinstance(key, (str, int, float, bool)) or key == "<<":
                raise _GiveUp
            skey = key if isinstance(key, str) else str(key)
            if skey in out:
                raise _GiveUp
            mark: Any = event.start_mark
            self.keys[(*where, skey)] = (mark.line + 1, mark.column + 1)
            out[skey] = self.node(self.next(), (*where, skey), depth + 1)
            event = self.next()
        return out

    def scalar(self, event: ScalarEvent) -> Any:
        if event.tag is not None:
            raise _GiveUp
        value = event.value
        if not event.implicit[0]:
            return value  # quoted: a string
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
