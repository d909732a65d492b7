"""The store as the composition root opens it: every area's tables and the secret redactor."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from evopipe.store import SecretRedactor, Store, resolve_db_url


def open_store(
    db: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Store:
    """The store at ``db`` / ``$EVOPIPE_DB`` / ``.evopipe/evopipe.db`` (under ``cwd``), masking
    the values of secret-looking environment variables in every byte it writes."""
    env = os.environ if environ is None else environ
    redactor = SecretRedactor.from_environ(env)
    url = resolve_db_url(db, cwd=cwd, environ=env)
    return Store.open(url, redact=redactor if len(redactor) else None)
