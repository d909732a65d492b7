"""Promotion: a candidate becomes champion only if it beats the incumbent on the TEST split.

The comparison is a paired bootstrap over the examples both were scored on
(:func:`evopipe.evaluate.stats.paired_bootstrap`): the candidate must have a positive mean
difference with p < 1 - confidence. The confidence is the pipeline's ``promotion.confidence``
(default 0.95) unless given. When the pipeline's ``promotion.require_approval`` is true, a
human approval (``--approve``) is required as well, and recorded with the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from evopipe.evaluate.stats import paired_bootstrap
from evopipe.evolve.fitness import EvalRecord, Evaluator
from evopipe.evolve.genome import candidate_id
from evopipe.evolve.repository import EvolutionRepository
from evopipe.spec import Pipeline
from evopipe.spec.errors import EvopipeError

TEST_SPLIT = "test"


class Champion(Protocol):
    @property
    def spec(self) -> Pipeline: ...


class PromotionRegistry(Protocol):
    """What promotion needs of the registry (:class:`evopipe.orchestrate.Registry`, handed in
    by the caller: evolve does not import orchestrate)."""

    def champion(self, name: str, /) -> Champion | None: ...

    def add_version(
        self,
        name: str,
        candidate_id: str,
        spec: Pipeline,
        evidence: dict[str, Any],
        approved_by: str | None = None,
        /,
    ) -> int: ...

    def set_champion(self, name: str, number: int, /) -> None: ...


class PromotionError(EvopipeError):
    """A promotion could not even be assessed (no shared examples, unknown candidate)."""


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str
    name: str
    candidate_id: str
    incumbent_id: str | None
    confidence: float
    comparison: dict[str, Any] = field(default_factory=dict)
    version: int | None = None
    approved_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "promoted": self.promoted,
            "reason": self.reason,
            "name": self.name,
            "candidate_id": self.candidate_id,
            "incumbent_id": self.incumbent_id,
            "confidence": self.confidence,
            "comparison": self.comparison,
            "version": self.version,
            "approved_by": self.approved_by,
        }


async def _test_record(
    repo: EvolutionRepository, evaluator: Evaluator, pipeline: Pipeline
) -> EvalRecord:
    cid = candidate_id(pipeline)
    record = repo.get_evaluation(cid, evaluator.dataset_key, TEST_SPLIT)
    if record is None:
        repo.put_spec(cid, pipeline)
        record = await evaluator.evaluate(pipeline, TEST_SPLIT)
        record = EvalRecord(TEST_SPLIT, record.examples)
        repo.put_evaluation(cid, evaluator.dataset_key, record)
    return record


def compare(incumbent: EvalRecord, candidate: EvalRecord, confidence: float) -> dict[str, Any]:
    """Paired bootstrap of candidate minus incumbent over the examples both were scored on."""
    a, b = incumbent.scores, candidate.scores
    shared = sorted(set(a) & set(b))
    if not shared:
        raise PromotionError("the candidate and the incumbent share no scored test example")
    result = paired_bootstrap([a[i] for i in shared], [b[i] for i in shared], confidence=confidence)
    return result.to_json()


SMALL_TEST_SPLIT = 30


def small_split_hint(n: int, confidence: float) -> str | None:
    """Why a refusal may say more about the test split than about the candidate."""
    if n >= SMALL_TEST_SPLIT:
        return None
    alpha = 1 - confidence
    best = 2 * 0.5**n  # every example won by the same margin: the exact sign test
    if best >= alpha:
        return (
            f"the test split has only {n} shared example(s): even a candidate that wins every "
            f"one by the same margin gets p = {best:.3g} ≥ {alpha:.3g}, so it can never pass — "
            f"add test rows (at least {_rows_needed(alpha)}; {SMALL_TEST_SPLIT}+ is better) or "
            "lower --confidence"
        )
    return (
        f"the test split has only {n} shared example(s): a real improvement rarely reaches "
        f"p < {alpha:.3g} on so few — add test rows ({SMALL_TEST_SPLIT}+) to decide"
    )


def _rows_needed(alpha: float) -> int:
    n = 1
    while 2 * 0.5**n >= alpha:
        n += 1
    return n


async def promote(
    cid: str,
    *,
    repo: EvolutionRepository,
    registry: PromotionRegistry,
    evaluator: Evaluator,
    incumbent: Pipeline | None,
    confidence: float | None = None,
    approved_by: str | None = None,
) -> Decision:
    """Assess ``cid`` against ``incumbent`` (the champion, else the run's seed) and promote it
    if it wins; the decision says why either way."""
    spec = repo.get_spec(cid)
    name = spec.name
    conf = confidence if confidence is not None else spec.promotion.confidence
    champion = registry.champion(name)
    base = champion.spec if champion is not None else incumbent
    inc_id = candidate_id(base) if base is not None else None

    def decide(ok: bool, reason: str, comparison: dict[str, Any]) -> Decision:
        return Decision(ok, reason, name, cid, inc_id, conf, comparison, None, approved_by)

    if inc_id == cid:
        return decide(False, "the candidate is the incumbent", {})
    comparison: dict[str, Any] = {}
    if base is not None:
        comparison = compare(
            await _test_record(repo, evaluator, base),
            await _test_record(repo, evaluator, spec),
            conf,
        )
        if comparison["diff"] <= 0 or comparison["p_value"] >= 1 - conf:
            why = (
                f"does not beat the incumbent on the test split at {conf:.0%} confidence "
                f"(diff {comparison['diff']:+.3f}, p = {comparison['p_value']:.4f})"
            )
            hint = small_split_hint(int(comparison.get("n", 0)), conf)
            return decide(False, why + (f"; {hint}" if hint else ""), comparison)
    if spec.promotion.require_approval and not approved_by:
        return decide(
            False, "approval required by promotion.require_approval (use --approve)", comparison
        )
    evidence = {"confidence": conf, "comparison": comparison, "incumbent_id": inc_id}
    if base is not None and champion is None:
        seed_version = registry.add_version(name, inc_id or "", base, {"baseline": True})
        registry.set_champion(name, seed_version)
    number = registry.add_version(name, cid, spec, evidence, approved_by)
    registry.set_champion(name, number)
    reason = "beats the incumbent" if base is not None else "first version (no incumbent)"
    return Decision(True, reason, name, cid, inc_id, conf, comparison, number, approved_by)
