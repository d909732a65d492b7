"""Failed engine runs go to the failure museum (``evopipe failures``), beside the evaluation,
offspring and generation failures: a subscriber every journaled run of the session gets files
the run's error (the failing step and its message, redacted like every event) under the
pipeline's name, so the museum's clusters and lessons cover what breaks in production too."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from evopipe.spec.errors import EvopipeError

if TYPE_CHECKING:
    from evopipe.app.root import App

__all__ = ["FailedRunFiler"]


class FailedRunFiler:
    def __init__(self, app: App) -> None:
        self.app = app
        self._failed_step: dict[str, tuple[str, str]] = {}

    def on_event(self, *, event: Any) -> None:
        if event.type == "step_failed" and event.step_id:
            self._failed_step[event.run_id] = (event.step_id, str(event.data.get("error") or ""))
        elif event.type == "run_finished":
            step = self._failed_step.pop(event.run_id, None)
            if event.data.get("status") == "failed":
                self._file(event.run_id, event.data.get("error"), step)

    def _file(self, run_id: str, error: Any, step: tuple[str, str] | None) -> None:
        from evopipe.memory.failures import FailureMuseum

        message = str(error or (step[1] if step else "") or "the run failed")
        with contextlib.suppress(EvopipeError):  # the museum never fails a run
            run = self.app.store.find_run(run_id)
            FailureMuseum(self.app.store).record(
                origin="run",
                subject=run.pipeline_name if run is not None else run_id,
                message=message,
                example={"run_id": run_id, "step": step[0] if step else None},
            )
