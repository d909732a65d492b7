"""Model calls metered by the cost ledger: a model source wrapper built per tenant's run.

:class:`MeteredSource` wraps the model source the application hands the engine; each model it
returns admits the call against the tenant's budget before ``complete()`` and settles it after
(see :mod:`evopipe.queue.ledger`). A refused call raises the engine's
:class:`~evopipe.engine.budget.BudgetExceeded` (``budget="tenant_usd"``), which ends the run
with status ``budget_exceeded`` — and nothing is sent to the model.

The step a call belongs to comes from :class:`StepTracker`, an event subscriber that records
the step of each ``step_started`` event in a context variable of the task running that step
(the engine emits it there, and a step's calls run in that task or in tasks it starts).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from evopipe.engine.budget import BudgetExceeded
from evopipe.engine.types import Event, ModelSource
from evopipe.models.base import Model, ModelRequest, ModelResponse, ModelWrapper
from evopipe.queue.ledger import CostLedger

CURRENT_STEP: ContextVar[str | None] = ContextVar("evopipe_queue_step", default=None)
"""The step path whose task is running (set by :class:`StepTracker`)."""

Estimate = Callable[[str, ModelRequest], float]
"""``(model_id, request) -> USD`` to reserve before a call."""

_STEP_EVENTS = frozenset({"step_started", "step_attempt_started"})


class StepTracker:
    """Event subscriber: remembers, per task, the step it is running."""

    def on_event(self, *, event: Event) -> None:
        if event.type in _STEP_EVENTS:
            CURRENT_STEP.set(event.step_id)


def fixed_estimate(usd: float) -> Estimate:
    """Reserve the same amount before every call."""

    def estimate(_model_id: str, _request: ModelRequest) -> float:
        return usd

    return estimate


class MeteredModel(ModelWrapper):
    """A model whose every call is admitted by, and recorded in, the cost ledger."""

    def __init__(self, inner: Model, meter: MeteredSource) -> None:
        super().__init__(inner)
        self.meter = meter

    async def complete(self, request: ModelRequest) -> ModelResponse:
        meter = self.meter
        ledger = meter.ledger
        entry = ledger.admit(
            meter.tenant,
            model=self.inner.id,
            run_id=meter.run_id,
            step_id=CURRENT_STEP.get(),
            reserve_usd=meter.estimate(self.inner.id, request),
        )
        if entry is None:
            raise BudgetExceeded(
                "tenant_usd", f"tenant {meter.tenant!r} has spent its budget; call refused"
            )
        try:
            response = await self.inner.complete(request)
        except BaseException:
            ledger.settle(entry, failed=True)
            raise
        ledger.settle(
            entry,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cost_usd=response.cost_usd,
            cached=response.cached,
        )
        return response


class MeteredSource:
    """A :class:`~evopipe.engine.types.ModelSource` whose models go through the ledger."""

    def __init__(
        self,
        inner: ModelSource,
        ledger: CostLedger,
        *,
        tenant: str,
        run_id: str | None = None,
        estimate: Estimate | None = None,
    ) -> None:
        self.inner = inner
        self.ledger = ledger
        self.tenant = tenant
        self.run_id = run_id
        self.estimate = estimate or fixed_estimate(0.0)

    @property
    def default_model_id(self) -> str:
        return self.inner.default_model_id

    @property
    def providers(self) -> Any:
        """The wrapped hub's providers (the validity check reads them)."""
        return getattr(self.inner, "providers", None)

    def get(self, model_id: str | None = None, *, cache_policy: Any = None) -> Model:
        return MeteredModel(self.inner.get(model_id, cache_policy=cache_policy), self)
