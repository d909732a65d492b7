"""Test helpers other areas may reuse: a throwaway PostgreSQL cluster.

>>> from evopipe.store.testing import throwaway_postgres   # doctest: +SKIP
>>> with throwaway_postgres() as url:                         # doctest: +SKIP
...     store = Store.open(url)

The cluster lives in a temporary directory, listens only on a unix socket inside it (no TCP
port), trusts local connections and is stopped and deleted on exit. PostgreSQL refuses to run
as root, so when we are root the server runs as the ``postgres`` (or ``nobody``) user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from evopipe.store.errors import StoreError

_PORT = 5432
_USER = "evopipe"


class PostgresUnavailableError(StoreError):
    """The PostgreSQL server binaries are not installed (CI must install them)."""


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``; raises if absent."""
    candidates: list[str] = []
    env = os.environ.get("EVOPIPE_PG_BINDIR")
    if env:
        candidates.append(env)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(out.stdout.strip())
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for initdb in (shutil.which("initdb"),):
        if initdb:
            candidates.append(str(Path(initdb).resolve().parent))
    for cand in candidates:
        path = Path(cand)
        if all((path / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
            return path
    raise PostgresUnavailableError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; looked in "
        f"{', '.join(candidates) or 'nothing'} — install PostgreSQL (e.g. apt-get install "
        "postgresql-15) or set EVOPIPE_PG_BINDIR"
    )


def _server_user() -> tuple[list[str], int | None, int | None]:
    """Command prefix to run as an unprivileged user, and that user's uid/gid (root only)."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", name, "--"], entry.pw_uid, entry.pw_gid
        setpriv = shutil.which("setpriv")
        if setpriv:
            prefix = [
                setpriv,
                f"--reuid={entry.pw_uid}",
                f"--regid={entry.pw_gid}",
                "--clear-groups",
            ]
            return prefix, entry.pw_uid, entry.pw_gid
    raise PostgresUnavailableError(
        "running as root, but found no unprivileged user (postgres/nobody) and no runuser/setpriv "
        "to start PostgreSQL with"
    )


def _run(cmd: Sequence[str], what: str) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise StoreError(f"{what} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout}")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a fresh PostgreSQL cluster; yield its ``postgresql://`` URL; stop and delete it."""
    bindir = find_bindir()
    prefix, uid, gid = _server_user()
    root = Path(tempfile.mkdtemp(prefix="evopipe-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if uid is not None and gid is not None:
        for path in (root, sock):
            os.chown(path, uid, gid)
    started = False
    try:
        _run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", _USER, "-A", "trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
            "initdb",
        )  # fmt: skip
        options = f"-k {sock} -p {_PORT} -c listen_addresses='' -F -c fsync=off"
        _run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
             "-l", str(root / "server.log"), "-w", "-t", "60", "start"],
            "pg_ctl start",
        )  # fmt: skip
        started = True
        yield f"postgresql://{_USER}@/postgres?host={sock}&port={_PORT}"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str, hint: str = "test") -> str:
    """Create a new empty database in the cluster of ``base_url``; return its URL."""
    import psycopg

    name = "db_" + re.sub(r"[^a-z0-9_]", "_", hint.lower())[:40] + "_" + os.urandom(4).hex()
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base_url.replace("/postgres?", f"/{name}?", 1)
