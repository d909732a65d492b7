"""The durable run queue, its workers' leases, and the cost ledger with tenant budgets.

Tables come with frozen migrations in :mod:`evopipe.queue.migrations`; the application layer
(:mod:`evopipe.app.queue`) runs queued runs on the engine and meters their model calls.
"""

from evopipe.queue.ledger import BudgetError, CostLedger, LedgerRow, TenantBudget
from evopipe.queue.metered import MeteredSource, StepTracker, fixed_estimate
from evopipe.queue.runqueue import (
    RESUME,
    STRATEGIES,
    NewRun,
    QueueBusyError,
    QueueError,
    QueueNotFoundError,
    QueueRow,
    RunQueue,
)

__all__ = [
    "RESUME",
    "STRATEGIES",
    "BudgetError",
    "CostLedger",
    "LedgerRow",
    "MeteredSource",
    "NewRun",
    "QueueBusyError",
    "QueueError",
    "QueueNotFoundError",
    "QueueRow",
    "RunQueue",
    "StepTracker",
    "TenantBudget",
    "fixed_estimate",
]
