"""Evolution: genome, operators, selection, the loop, lineage and promotion.

Submodules: :mod:`~evopipe.evolve.genome` (ids, diffs, traits), :mod:`~evopipe.evolve.operators`
(the operator table), :mod:`~evopipe.evolve.selection`, :mod:`~evopipe.evolve.loop` (async
``start``/``resume``), :mod:`~evopipe.evolve.source` (how a run scores candidates),
:mod:`~evopipe.evolve.lineage` and :mod:`~evopipe.evolve.promotion`.

Kept import-light on purpose: opening a store imports :mod:`evopipe.evolve.migrations`.
"""
