"""Property tests: any interleaving of appends keeps every journal gap-free and payloads
round-trip exactly."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evopipe.store import EventRecord, Store

EXAMPLES = int(os.environ.get("EVOPIPE_FUZZ_EXAMPLES", "40"))

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
payloads = st.dictionaries(st.sampled_from(["output", "error", "é", "k"]), json_values, max_size=3)
batches = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.lists(st.tuples(st.sampled_from(["e", "step_succeeded", "ü"]), payloads), max_size=4),
    ),
    max_size=8,
)


@pytest.fixture(scope="module")
def mem_store() -> Iterator[Store]:
    with Store.open("sqlite:///:memory:") as store:
        yield store


@settings(max_examples=EXAMPLES, deadline=None)
@given(plan=batches)
def test_interleaved_appends_stay_contiguous(
    mem_store: Store, plan: list[tuple[str, list[tuple[str, dict[str, Any]]]]]
) -> None:
    store = mem_store
    prefix = uuid.uuid4().hex[:12]
    expected: dict[str, list[tuple[str, dict[str, Any]]]] = {"a": [], "b": [], "c": []}
    for name in expected:
        store.create_run(prefix + name, pipeline_name="p", spec_hash="h", spec_json="{}", inputs={})
    for name, events in plan:
        last = store.append_events(prefix + name, [EventRecord(t, None, 0, p) for t, p in events])
        expected[name].extend(events)
        assert last == len(expected[name])
    for name, wanted in expected.items():
        got = store.load_events(prefix + name)
        assert [e.seq for e in got] == list(range(1, len(wanted) + 1))
        assert [(e.type, e.payload) for e in got] == wanted
