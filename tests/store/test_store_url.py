"""Where the store lives: ``--db`` > ``$EVOPIPE_DB`` > ``.evopipe/evopipe.db``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from evopipe.store import Store, StoreError, resolve_db_url
from evopipe.store.summary import parse_age


def test_default_is_under_the_current_directory(tmp_path: Path) -> None:
    url = resolve_db_url(None, cwd=tmp_path, environ={})
    assert url == f"sqlite:///{tmp_path / '.evopipe' / 'evopipe.db'}"


def test_environment_then_flag(tmp_path: Path) -> None:
    env = {"EVOPIPE_DB": "from-env.db"}
    assert resolve_db_url(None, cwd=tmp_path, environ=env) == f"sqlite:///{tmp_path}/from-env.db"
    assert resolve_db_url("flag.db", cwd=tmp_path, environ=env) == f"sqlite:///{tmp_path}/flag.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///rel/x.db", "sqlite:///{tmp}/rel/x.db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
    ],
)
def test_urls(tmp_path: Path, given: str, expected: str) -> None:
    assert resolve_db_url(given, cwd=tmp_path, environ={}) == expected.format(tmp=tmp_path)


def test_unknown_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'"):
        resolve_db_url("mysql://x/y", cwd=tmp_path, environ={})


def test_open_creates_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Store.open() as store:
        assert store.dialect == "sqlite"
    assert (tmp_path / ".evopipe" / "evopipe.db").is_file()


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("1.5m", 90), ("2w", 14 * 86400)]
)
def test_parse_age(text: str, seconds: float) -> None:
    assert parse_age(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "d", "-1d", "3 days"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(StoreError, match="invalid age"):
        parse_age(text)


def test_display_url_masks_passwords() -> None:
    from evopipe.store.url import display_url

    assert display_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert display_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_unopenable_database_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot"):
        Store.open(str(blocker / "x.db"))
    (tmp_path / "garbage.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the store at sqlite:///"):
        Store.open(str(tmp_path / "garbage.db"))
