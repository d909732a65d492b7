"""The store's API, run against SQLite and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evopipe.store import (
    DuplicateRunError,
    EventRecord,
    JournalGapError,
    RunNotFoundError,
    Store,
    StoreError,
    run_owner,
)


def _new_run(store: Store, run_id: str = "r1", **kw: object) -> None:
    store.create_run(
        run_id,
        pipeline_name="demo",
        spec_hash="abc123",
        spec_json='{"name":"demo"}',
        inputs={"q": "hello", "n": 3},
        **kw,  # type: ignore[arg-type]
    )


def test_create_and_get_run(store: Store) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    _new_run(store, parent_run_id="p0", created_at=when)
    run = store.get_run("r1")
    assert run.pipeline_name == "demo"
    assert run.spec_hash == "abc123"
    assert run.spec_json == '{"name":"demo"}'
    assert run.inputs == {"q": "hello", "n": 3}
    assert run.parent_run_id == "p0"
    assert run.status == "running"
    assert run.created_at == when
    assert run.finished_at is None
    assert run.outputs is None
    assert run.last_seq == 0
    assert store.find_run("nope") is None
    with pytest.raises(RunNotFoundError, match="nope"):
        store.get_run("nope")


def test_duplicate_run_is_refused(store: Store) -> None:
    _new_run(store)
    with pytest.raises(DuplicateRunError, match="r1"):
        _new_run(store)
    # the store is still usable after the failed transaction
    assert store.append_events("r1", [EventRecord("run_started", None, 0, {})]) == 1


def test_set_run_status_terminal_and_back(store: Store) -> None:
    _new_run(store)
    store.set_run_status(
        "r1", "failed", error="boom", outputs={"a": [1, 2]}, usage={"calls": 2, "cost_usd": 0.5}
    )
    run = store.get_run("r1")
    assert (run.status, run.error, run.outputs) == ("failed", "boom", {"a": [1, 2]})
    assert run.usage == {"calls": 2, "cost_usd": 0.5}
    assert run.finished_at is not None
    store.set_run_status("r1", "running")
    run = store.get_run("r1")
    assert (run.status, run.error, run.finished_at) == ("running", None, None)
    assert run.outputs == {"a": [1, 2]}  # kept: outputs replaced only when given
    with pytest.raises(StoreError, match="unknown run status 'done'"):
        store.set_run_status("r1", "done")
    with pytest.raises(RunNotFoundError):
        store.set_run_status("missing", "failed")


def test_list_runs_newest_first_and_by_status(store: Store) -> None:
    base = time.time() - 100
    for i in range(5):
        _new_run(store, f"r{i}", created_at=base + i)
    store.set_run_status("r1", "succeeded")
    store.set_run_status("r3", "succeeded")
    assert [r.run_id for r in store.list_runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in store.list_runs(limit=2)] == ["r4", "r3"]
    assert [r.run_id for r in store.list_runs(status="succeeded")] == ["r3", "r1"]


def test_journal_seq_is_contiguous_and_payloads_round_trip(store: Store) -> None:
    _new_run(store)
    assert store.append_events("r1", []) == 0
    assert store.append_events("r1", [EventRecord("run_started", None, 0, {"x": "é"})]) == 1
    batch = [EventRecord("step_succeeded", f"s{i}", 1, {"output": {"i": i}}) for i in range(50)]
    assert store.append_events("r1", batch) == 51
    events = store.load_events("r1")
    assert [e.seq for e in events] == list(range(1, 52))
    assert events[0].payload == {"x": "é"}
    assert events[0].step_id is None
    assert events[10].step_id == "s9"
    assert events[10].payload == {"output": {"i": 9}}
    assert [e.seq for e in store.load_events("r1", after_seq=49)] == [50, 51]
    assert store.get_run("r1").last_seq == 51


def test_journal_of_unknown_run_is_refused(store: Store) -> None:
    with pytest.raises(RunNotFoundError):
        store.append_events("ghost", [EventRecord("x", None, 0, {})])
    assert store.load_events("ghost") == []


def test_journals_of_two_runs_are_independent(store: Store) -> None:
    _new_run(store, "a")
    _new_run(store, "b")
    store.append_events("a", [EventRecord("e", None, 0, {})] * 3)
    store.append_events("b", [EventRecord("e", None, 0, {})] * 2)
    store.append_events("a", [EventRecord("e", None, 0, {})])
    assert [e.seq for e in store.load_events("a")] == [1, 2, 3, 4]
    assert [e.seq for e in store.load_events("b")] == [1, 2]


def test_concurrent_appends_from_threads_leave_no_gaps(store: Store) -> None:
    _new_run(store)

    def writer(k: int) -> None:
        for i in range(20):
            store.append_events("r1", [EventRecord("e", f"t{k}", i, {"i": i})] * (1 + i % 3))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [e.seq for e in store.load_events("r1")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) == 4 * sum(1 + i % 3 for i in range(20))


def test_unserialisable_payload_is_a_clear_error(store: Store) -> None:
    _new_run(store)
    with pytest.raises(StoreError, match="not JSON-serialisable"):
        store.append_events("r1", [EventRecord("e", None, 0, {"x": object()})])
    assert store.load_events("r1") == []
    assert store.get_run("r1").last_seq == 0


def test_cancel_flag(store: Store) -> None:
    _new_run(store)
    assert store.cancel_requested("r1") is False
    store.request_cancel("r1")
    assert store.cancel_requested("r1") is True
    store.clear_cancel("r1")
    assert store.cancel_requested("r1") is False
    assert store.cancel_requested("ghost") is False
    with pytest.raises(RunNotFoundError):
        store.request_cancel("ghost")


def test_approvals(store: Store) -> None:
    _new_run(store)
    assert store.get_approval("r1", "review") is None
    store.record_approval("r1", "review", False, "not yet", "ann")
    got = store.get_approval("r1", "review")
    assert got is not None
    assert (got.approved, got.comment, got.by) == (False, "not yet", "ann")
    store.record_approval("r1", "review", True, None, "bob")
    got = store.get_approval("r1", "review")
    assert got is not None
    assert (got.approved, got.comment, got.by) == (True, None, "bob")
    with pytest.raises(RunNotFoundError):
        store.record_approval("ghost", "review", True, None, None)


def test_response_cache(store: Store) -> None:
    cache = store.response_cache()
    assert cache.get("k" * 64) is None
    cache.put("k" * 64, {"text": "hi", "usage": {"input_tokens": 3}})
    assert cache.get("k" * 64) == {"text": "hi", "usage": {"input_tokens": 3}}
    cache.put("k" * 64, {"text": "again"})
    assert cache.get("k" * 64) == {"text": "again"}


def test_blobs_are_content_addressed(store: Store) -> None:
    sha = store.put_blob(b"\x00\x01binary")
    assert sha == hashlib.sha256(b"\x00\x01binary").hexdigest()
    assert store.put_blob(b"\x00\x01binary") == sha
    assert store.get_blob(sha) == b"\x00\x01binary"
    assert store.get_blob("0" * 64) is None


def test_gc_deletes_only_old_finished_runs_and_unreferenced_data(store: Store) -> None:
    old = time.time() - 40 * 86400
    _new_run(store, "old_done", created_at=old)
    _new_run(store, "old_running", created_at=old)
    _new_run(store, "new_done")
    for run_id in ("old_done", "old_running", "new_done"):
        store.append_events(run_id, [EventRecord("e", "s", 1, {})] * 2)
    store.record_approval("old_done", "a", True, None, None)
    store.set_run_status("old_done", "succeeded")
    store.set_run_status("new_done", "succeeded")
    kept_sha = store.put_blob(b"kept", owner=run_owner("new_done"))
    store.put_blob(b"owned by old run", owner=run_owner("old_done"))
    store.put_blob(b"orphan")
    store.response_cache().put("c", {"v": 1})
    # both runs finished just now, so nothing is 30 days old yet
    counts = store.gc(timedelta(days=30))
    assert (counts.runs, counts.blobs, counts.cache_entries) == (0, 0, 0)
    # a month from now, both finished runs are old; the running one never is
    counts = store.gc(timedelta(days=30), now=time.time() + 31 * 86400)
    assert counts.runs == 2
    assert counts.events == 5  # 2 + 2 appended, 1 approval_decided
    assert counts.approvals == 1
    assert counts.blobs == 3
    assert counts.cache_entries == 1
    assert store.find_run("old_running") is not None  # never delete unfinished runs
    assert store.find_run("old_done") is None
    assert store.load_events("old_done") == []
    assert store.get_blob(kept_sha) is None  # its owner run was old enough to go too


def test_gc_keeps_blobs_of_live_runs(store: Store) -> None:
    _new_run(store, "live")
    sha = store.put_blob(b"live data", owner=run_owner("live"))
    counts = store.gc(timedelta(0), now=time.time() + 10)
    assert counts.blobs == 0
    assert store.get_blob(sha) == b"live data"


def test_closed_store_refuses_work() -> None:
    store = Store.open("sqlite:///:memory:")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_run("x")


def test_approval_is_also_journaled(store: Store) -> None:
    _new_run(store)
    store.append_events("r1", [EventRecord("step_waiting", "review", 1, {"message": "ok?"})])
    store.record_approval("r1", "review", True, "fine", "ann")
    last = store.load_events("r1")[-1]
    assert (last.seq, last.type, last.step_id) == (2, "approval_decided", "review")
    assert last.data == {"approved": True, "comment": "fine", "decided_by": "ann"}


def test_sequenced_events_must_continue_the_journal(store: Store) -> None:
    from evopipe.engine.types import Event

    _new_run(store)
    ok = [Event("step_started", "r1", i, "s", {"attempt": 1}, 100.0 + i) for i in (1, 2)]
    assert store.append_events("r1", ok) == 2
    with pytest.raises(JournalGapError, match="got event seq 4, expected 3"):
        store.append_events("r1", [Event("step_started", "r1", 4, "s", {})])
    with pytest.raises(JournalGapError, match="got event seq 2, expected 3"):
        store.append_events("r1", [Event("step_started", "r1", 2, "s", {})])
    events = store.load_events("r1")
    assert [(e.seq, e.attempt, e.ts, e.run_id) for e in events] == [
        (1, 1, 101.0, "r1"),
        (2, 1, 102.0, "r1"),
    ]
    assert store.get_run("r1").last_seq == 2


def test_database_errors_are_store_errors(tmp_path: Path) -> None:
    with Store.open(str(tmp_path / "e.db")) as store:
        with store.begin() as conn:
            conn.exec_driver_sql("DROP TABLE approvals")
        _new_run(store)
        with pytest.raises(StoreError, match="database error"):
            store.record_approval("r1", "s", True)
        # the failed transaction was rolled back (no approval_decided event); the store works
        assert store.load_events("r1") == []
        assert store.append_events("r1", [EventRecord("e", None, 0, {})]) == 1


def test_two_connections_appending_to_one_run_leave_no_gaps(store: Store) -> None:
    """Two stores (two connections, like two processes) append to the same run at once."""
    _new_run(store)
    errors: list[BaseException] = []

    def writer(target: Store, k: int) -> None:
        try:
            for i in range(25):
                target.append_events("r1", [EventRecord("e", f"w{k}", i, {"i": i})] * 2)
        except BaseException as exc:  # reported below
            errors.append(exc)

    with Store.open(store.url) as other:
        threads = [
            threading.Thread(target=writer, args=(target, k))
            for k, target in enumerate((store, other, store, other))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    seqs = [e.seq for e in store.load_events("r1")]
    assert seqs == list(range(1, 4 * 25 * 2 + 1))
