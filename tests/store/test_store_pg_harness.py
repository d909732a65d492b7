"""The throwaway PostgreSQL harness: finds the binaries or fails loudly (never skips)."""

from __future__ import annotations

import pytest

from evopipe.store import Store
from evopipe.store import testing as pg


def test_missing_binaries_fail_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVOPIPE_PG_BINDIR", raising=False)
    monkeypatch.setattr(pg.shutil, "which", lambda _name: None)
    monkeypatch.setattr(pg.glob, "glob", lambda _pattern: [])
    with (
        pytest.raises(pg.PostgresUnavailableError, match="install PostgreSQL"),
        pg.throwaway_postgres(),
    ):
        pass


def test_bindir_override_must_hold_the_binaries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("EVOPIPE_PG_BINDIR", str(tmp_path))
    monkeypatch.setattr(pg.shutil, "which", lambda _name: None)
    monkeypatch.setattr(pg.glob, "glob", lambda _pattern: [])
    with pytest.raises(pg.PostgresUnavailableError, match=str(tmp_path)):
        pg.find_bindir()


@pytest.mark.postgres
def test_cluster_serves_separate_databases(postgres_url: str) -> None:
    first, second = pg.create_database(postgres_url, "a"), pg.create_database(postgres_url, "b")
    assert first != second
    with Store.open(first) as one, Store.open(second) as two:
        one.create_run("r", pipeline_name="p", spec_hash="h", spec_json="{}", inputs={})
        assert two.find_run("r") is None
        assert one.dialect == two.dialect == "postgresql"
