"""``evopipe report pipelines|schedules|chains``: runs, success rate, cost, latency and the
last failure, as a table or JSON."""

from __future__ import annotations

from collections.abc import Callable

from evopipe.app import App
from evopipe.app.reports import Report
from evopipe.cli._options import DB_OPTION, JSON_OPTION
from evopipe.cli._session import Commands, call, echo_records


def _show(get: Callable[[App], list[Report]], db: str | None, as_json: bool) -> None:
    echo_records(call(get, db=db), _line, as_json=as_json, empty="nothing to report yet")


def _line(r: Report) -> str:
    rate = "-" if r.success_rate is None else f"{r.success_rate:.0%}"
    cost = "?" if r.cost_usd is None else f"${r.cost_usd:.4f}"
    p50 = "-" if r.latency_s_p50 is None else f"{r.latency_s_p50:.2f}s"
    last = r.last_failure["ref"] if r.last_failure else "-"
    return (
        f"{r.subject:28} runs {r.runs:<5} ok {rate:>5}  cost {cost:>9}  p50 {p50:>8}  "
        f"last failure {last}"
    )


def pipelines_cmd(db: str = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Per pipeline."""
    _show(lambda app: app.reports.pipelines(), db, as_json)


def schedules_cmd(db: str = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Per schedule (fires that ran)."""
    _show(lambda app: app.reports.schedules(), db, as_json)


def chains_cmd(db: str = DB_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Per workflow (chain)."""
    _show(lambda app: app.reports.chains(), db, as_json)


CLI: tuple[Commands, ...] = (
    Commands(
        {"pipelines": pipelines_cmd, "schedules": schedules_cmd, "chains": chains_cmd},
        "report",
        "Reports: runs, success rate, cost, latency.",
    ),
)
