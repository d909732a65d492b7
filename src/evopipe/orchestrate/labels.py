"""Aliases and tags on registered versions, every change logged and undoable.

An alias names one version of a registered pipeline: ``champion`` (the champion pointer of
:class:`~evopipe.orchestrate.registry.Registry`), ``canary`` (the challenger a share of routed
requests goes to) or any user-defined word. Tags (categories) label versions. Each change is
one row of ``registry_changes`` holding the state before and after; :meth:`Labels.undo` puts
the state before back, in one transaction, and records that as a change of its own.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, delete, insert, select, update

from evopipe.orchestrate import tables as t
from evopipe.orchestrate.registry import (
    Registry,
    RegistryError,
    champion_version,
    move_champion,
)
from evopipe.orchestrate.rows import inserted_id
from evopipe.store import Transactional
from evopipe.store.records import FieldsJson

CHAMPION = "champion"
CANARY = "canary"
_WORD = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Change(FieldsJson):
    """One logged change: ``set_alias`` / ``remove_alias`` / ``tag`` / ``untag`` / ``undo``."""

    id: int
    name: str
    action: str
    subject: str
    before: Any
    after: Any
    reason: str
    at: float
    undone_by: int | None


class Labels:
    """Aliases, tags and the change log of one store's registry."""

    def __init__(self, store: Transactional, *, clock: Any = time.time) -> None:
        self.store = store
        self.registry = Registry(store)
        self.clock = clock

    # -- aliases -------------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        """``alias → version`` for ``name`` (the champion included)."""
        with self.store.begin() as conn:
            out = _aliases(conn, name)
            champ = champion_version(conn, name)
        if champ is not None:
            out[CHAMPION] = champ
        return out

    def resolve(self, name: str, alias: str) -> int:
        found = self.aliases(name).get(alias)
        if found is None:
            raise RegistryError(f"{name} has no alias {alias!r}")
        return found

    def set_alias(self, name: str, alias: str, version: int, *, reason: str = "") -> Change:
        """Point ``alias`` at ``version`` (``champion`` moves the champion pointer)."""
        _check_word(alias, "alias")
        self.registry.version(name, version)
        with self.store.begin() as conn:
            before = alias_value(conn, name, alias)
            return move_alias(conn, name, alias, before, version, reason, self.clock())

    def remove_alias(self, name: str, alias: str, *, reason: str = "") -> Change:
        if alias == CHAMPION:
            raise RegistryError("the champion alias is moved (rollback, promote), not removed")
        with self.store.begin() as conn:
            before = alias_value(conn, name, alias)
            if before is None:
                raise RegistryError(f"{name} has no alias {alias!r}")
            return move_alias(conn, name, alias, before, None, reason, self.clock())

    # -- tags ----------------------------------------------------------------------------------

    def tags(self, name: str) -> dict[int, list[str]]:
        """``version → sorted tags`` for ``name``."""
        g = t.registry_tags.c
        out: dict[int, list[str]] = {}
        for version, tag in self._tag_rows(g.name == name, g.version, g.tag):
            out.setdefault(int(version), []).append(str(tag))
        return out

    def tagged(self, tag: str) -> list[tuple[str, int]]:
        """Every ``(name, version)`` carrying ``tag``."""
        g = t.registry_tags.c
        return [(str(n), int(v)) for n, v in self._tag_rows(g.tag == tag, g.name, g.version)]

    def _tag_rows(self, where: ColumnElement[bool], *columns: Column[Any]) -> list[tuple[Any, ...]]:
        """``columns`` of the tag rows matching ``where``, sorted by those columns."""
        query = select(*columns).where(where).order_by(*columns)
        with self.store.begin() as conn:
            return [tuple(row) for row in conn.execute(query).all()]

    def tag(self, name: str, version: int, tag: str, *, reason: str = "") -> Change:
        _check_word(tag, "tag")
        self.registry.version(name, version)
        with self.store.begin() as conn:
            _write_tag(conn, name, version, tag, present=True)
            return log_change(conn, name, "tag", tag, None, version, reason, self.clock())

    def untag(self, name: str, version: int, tag: str, *, reason: str = "") -> Change:
        with self.store.begin() as conn:
            _write_tag(conn, name, version, tag, present=False)
            return log_change(conn, name, "untag", tag, version, None, reason, self.clock())

    # -- the change log ------------------------------------------------------------------------

    def changes(self, name: str | None = None) -> list[Change]:
        query = select(t.registry_changes).order_by(t.registry_changes.c.id)
        if name is not None:
            query = query.where(t.registry_changes.c.name == name)
        with self.store.begin() as conn:
            rows = conn.execute(query).all()
        return [_change(r._mapping) for r in rows]

    def undo(self, change_id: int, *, reason: str = "") -> Change:
        """Put back the state before change ``change_id`` (once), logged as an ``undo``."""
        with self.store.begin() as conn:
            row = conn.execute(
                select(t.registry_changes).where(t.registry_changes.c.id == change_id)
            ).first()
            if row is None:
                raise RegistryError(f"no registry change {change_id}")
            change = _change(row._mapping)
            if change.undone_by is not None:
                raise RegistryError(f"change {change_id} was already undone by {change.undone_by}")
            if change.action in ("set_alias", "remove_alias", "undo_alias"):
                write_alias(conn, change.name, change.subject, change.before, self.clock())
                action = "undo_alias"
            else:
                version = change.after if change.action == "tag" else change.before
                _write_tag(conn, change.name, int(version), change.subject, change.action != "tag")
                action = "untag" if change.action == "tag" else "tag"
            why = reason or f"undo of change {change_id}"
            done = log_change(
                conn,
                change.name,
                action,
                change.subject,
                change.after,
                change.before,
                why,
                self.clock(),
            )
            conn.execute(
                update(t.registry_changes)
                .where(t.registry_changes.c.id == change_id)
                .values(undone_by=done.id)
            )
        return done


def log_change(
    conn: Connection,
    name: str,
    action: str,
    subject: str,
    before: Any,
    after: Any,
    reason: str,
    at: float,
) -> Change:
    """Append one change to the log inside the caller's transaction."""
    result = conn.execute(
        insert(t.registry_changes).values(
            name=name,
            action=action,
            subject=subject,
            before_json=json.dumps(before),
            after_json=json.dumps(after),
            reason=reason,
            at=at,
        )
    )
    return Change(inserted_id(result), name, action, subject, before, after, reason, at, None)


def move_alias(
    conn: Connection,
    name: str,
    alias: str,
    before: int | None,
    version: int | None,
    reason: str,
    now: float,
) -> Change:
    """Point ``alias`` at ``version`` (None removes it) and log it as a ``set_alias`` or
    ``remove_alias`` change from ``before``, inside the caller's transaction."""
    write_alias(conn, name, alias, version, now)
    action = "set_alias" if version is not None else "remove_alias"
    return log_change(conn, name, action, alias, before, version, reason, now)


def _check_word(value: str, what: str) -> None:
    if not _WORD.match(value):
        raise RegistryError(
            f"bad {what} {value!r}: lower-case letters, digits, '_', '.', '-' (start with a letter)"
        )


def _aliases(conn: Connection, name: str) -> dict[str, int]:
    rows = conn.execute(
        select(t.registry_aliases.c.alias, t.registry_aliases.c.version).where(
            t.registry_aliases.c.name == name
        )
    ).all()
    return {str(a): int(v) for a, v in rows}


def alias_value(conn: Connection, name: str, alias: str) -> int | None:
    if alias == CHAMPION:
        return champion_version(conn, name)
    return _aliases(conn, name).get(alias)


def write_alias(conn: Connection, name: str, alias: str, version: int | None, now: float) -> None:
    """Set (or, with None, remove) an alias inside the caller's transaction."""
    if alias == CHAMPION:
        if version is None:
            conn.execute(delete(t.registry_champions).where(t.registry_champions.c.name == name))
        else:
            move_champion(conn, name, version, "alias", now)
        return
    a = t.registry_aliases
    conn.execute(delete(a).where(a.c.name == name, a.c.alias == alias))
    if version is not None:
        conn.execute(insert(a).values(name=name, alias=alias, version=version, updated_at=now))


def _write_tag(conn: Connection, name: str, version: int, tag: str, present: bool) -> None:
    g = t.registry_tags
    conn.execute(delete(g).where(g.c.name == name, g.c.version == version, g.c.tag == tag))
    if present:
        conn.execute(insert(g).values(name=name, version=version, tag=tag))


def _change(m: Any) -> Change:
    return Change(
        id=int(m["id"]),
        name=m["name"],
        action=m["action"],
        subject=m["subject"],
        before=json.loads(m["before_json"]) if m["before_json"] is not None else None,
        after=json.loads(m["after_json"]) if m["after_json"] is not None else None,
        reason=m["reason"],
        at=float(m["at"]),
        undone_by=m["undone_by"],
    )
