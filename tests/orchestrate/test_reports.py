"""Unified reports: success rate, cost (unknown stays unknown), latency, last failure."""

from __future__ import annotations

from evopipe.orchestrate.reports import Outcome, summarise


def test_a_report_per_subject() -> None:
    rows = [
        Outcome("a", "succeeded", 1.0, 2.0, 0.01, "r1"),
        Outcome("a", "failed", 2.0, 4.0, 0.02, "r2", "boom"),
        Outcome("a", "failed", 3.0, 6.0, 0.03, "r3", "bang"),
        Outcome("a", "running", 4.0, None, 0.0, "r4"),
        Outcome("b", "succeeded", 1.0, 1.0, None, "r5"),
    ]
    a, b = summarise(rows)
    assert (a.subject, a.runs, a.succeeded, a.failed) == ("a", 4, 1, 2)
    assert a.success_rate == round(1 / 3, 4)
    assert a.cost_usd == 0.06
    assert (a.latency_s_p50, a.latency_s_max) == (4.0, 6.0)
    assert a.last_failure == {"at": 3.0, "ref": "r3", "status": "failed", "error": "bang"}
    assert b.cost_usd is None  # one unknown price: the sum is unknown, never a silent 0
    assert b.last_failure is None
