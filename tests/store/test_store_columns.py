"""The column-list form of a table (``evopipe.store.columns``) builds the SQLAlchemy table it
says, and refuses a line it does not understand."""

from __future__ import annotations

import pytest
from sqlalchemy import Boolean, Float, Integer, LargeBinary, String, Text

from evopipe.store.columns import ColumnSpecError, Schema


def test_a_table_is_built_as_its_text_says() -> None:
    schema = Schema()
    queue = schema.table("""
        queue: one row per queued run
        seq      int      key auto
        run_id   str(64)
        note     text     null
        tries    int      default=0
        share    float    default=0.5
        urgent   bool     default=false
        blob     bytes    null
        unique index ux_queue_run (run_id)
        index ix_queue_tries (tries, seq)
    """)
    assert queue.name == "queue"
    assert queue.info["about"] == "one row per queued run"
    assert queue.metadata is schema.metadata
    cols = queue.columns
    assert [c.name for c in cols] == ["seq", "run_id", "note", "tries", "share", "urgent", "blob"]
    types = {c.name: type(c.type) for c in cols}
    assert types == {
        "seq": Integer,
        "run_id": String,
        "note": Text,
        "tries": Integer,
        "share": Float,
        "urgent": Boolean,
        "blob": LargeBinary,
    }
    assert cols.run_id.type.length == 64
    assert [c.name for c in queue.primary_key.columns] == ["seq"]
    assert cols.seq.autoincrement is True
    assert [c.nullable for c in cols] == [False, False, True, False, False, False, True]
    defaults = {c.name: c.default.arg for c in cols if c.default is not None}
    assert defaults == {"tries": 0, "share": 0.5, "urgent": False}
    assert type(defaults["tries"]) is int
    indexes = {i.name: ([c.name for c in i.columns], i.unique) for i in queue.indexes}
    assert indexes == {
        "ux_queue_run": (["run_id"], True),
        "ix_queue_tries": (["tries", "seq"], False),
    }


def test_an_int_key_is_not_auto_incremented_unless_asked_and_a_named_key_is_kept() -> None:
    schema = Schema()
    pair = schema.table("""
        pair
        name     str(10)  key
        version  int      key
    """)
    assert isinstance(pair.columns.version.type, Integer)
    assert pair.columns.version.autoincrement is False
    assert [c.name for c in pair.primary_key.columns] == ["name", "version"]
    ledger = schema.table("""
        ledger
        area     str(8)
        version  int
        primary key pk_ledger (area, version)
    """)
    assert ledger.primary_key.name == "pk_ledger"
    assert [c.name for c in ledger.primary_key.columns] == ["area", "version"]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("id  str(64)  primary", "unknown flag 'primary'"),
        ("id  varchar", "unknown type 'varchar'"),
        ("id", "a column needs a name and a type"),
    ],
)
def test_a_line_that_does_not_parse_is_refused_with_its_table(line: str, says: str) -> None:
    with pytest.raises(ColumnSpecError, match=f"table broken: {says}"):
        Schema().table(f"broken\n{line}\n")
