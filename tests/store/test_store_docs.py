"""The examples in the store's docstrings run."""

from __future__ import annotations

import doctest

import evopipe.store
import evopipe.store.redact


def test_docstring_examples_run() -> None:
    for module in (evopipe.store, evopipe.store.redact):
        result = doctest.testmod(module, raise_on_error=False)
        assert result.failed == 0, module.__name__
        assert result.attempted > 0, module.__name__
