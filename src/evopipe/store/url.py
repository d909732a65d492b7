"""Where the store lives: one function that turns ``--db`` / ``EVOPIPE_DB`` into a URL."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from evopipe.store.errors import StoreError

DEFAULT_DB_PATH = ".evopipe/evopipe.db"
"""Default database file, relative to the current directory."""

ENV_VAR = "EVOPIPE_DB"
"""Environment variable that overrides the default database location."""


def resolve_db_url(
    db: str | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Return the store URL to use: ``db`` if given, else ``$EVOPIPE_DB``, else the default file.

    The result is either a ``postgresql://`` URL or a ``sqlite:///ABSOLUTE/PATH`` URL. A plain
    path (relative paths are taken from ``cwd``, default the current directory) becomes a
    ``sqlite:///`` URL. The CLI (``--db``) and the Python API both call this.
    """
    env = os.environ if environ is None else environ
    raw = db or env.get(ENV_VAR) or DEFAULT_DB_PATH
    return normalize_url(raw, cwd=cwd)


def normalize_url(raw: str, *, cwd: Path | None = None) -> str:
    """Normalise a URL or path into ``sqlite:///ABS`` or ``postgresql://...``."""
    raw = raw.strip()
    if not raw:
        raise StoreError(
            "empty database location; give a path or a sqlite:/// or postgresql:// URL"
        )
    base = cwd or Path.cwd()
    if raw.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return raw
    if raw.startswith("sqlite:///"):
        path = raw[len("sqlite:///") :]
        if path == ":memory:" or path == "":
            return "sqlite:///:memory:"
        return "sqlite:///" + str((base / path).resolve())
    if "://" in raw:
        scheme = raw.split("://", 1)[0]
        raise StoreError(
            f"unsupported database URL scheme {scheme!r} in {raw!r}; "
            "use a file path, sqlite:///PATH or postgresql://..."
        )
    if raw == ":memory:":
        return "sqlite:///:memory:"
    return "sqlite:///" + str((base / Path(raw).expanduser()).resolve())


def sqlalchemy_url(url: str) -> str:
    """Map a normalised store URL to the SQLAlchemy URL (psycopg 3 driver for PostgreSQL)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, or None for PostgreSQL and in-memory DBs."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url[len("sqlite:///") :])


def display_url(url: str) -> str:
    """``url`` with any password masked, for messages."""
    return re.sub(r"^(\w[\w+.-]*://[^:/@]*):[^@]*@", r"\1:***@", url)
