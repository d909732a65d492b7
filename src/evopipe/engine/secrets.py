"""Secret inputs: declared with ``writeOnly: true`` in their JSON Schema, never journaled.

A pipeline input whose schema says ``writeOnly: true`` (JSON Schema's word for "sent, never
read back") is a secret: the run uses its value, but every string the run writes — the run's
stored inputs, every event (journal and subscribers alike), the final outputs and error —
has the value replaced by ``[REDACTED:name]`` (:func:`mask_of`). A resumed run cannot read
the value back, so it must be given again (``resume_run(..., inputs={name: value})``,
``evopipe resume RUN -i name=…``); without it resume is refused with a message saying so.
Given again, it also takes the place of its mask in the outputs of the steps that the resumed
run replays from the journal, so later steps see what they would have seen.

A model call whose request holds a secret is kept out of the response cache (its answer may
echo it); so are all the model calls of such a run's steps shipped to Ray workers.

Only string values of at least :data:`MIN_SECRET_LENGTH` characters are masked (a shorter one
would mask unrelated text).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evopipe.spec.pipeline import Pipeline

MIN_SECRET_LENGTH = 4


def mask_of(name: str) -> str:
    """What the value of the secret input ``name`` is written as."""
    return f"[REDACTED:{name}]"


def secret_inputs(pipeline: Pipeline) -> frozenset[str]:
    """The names of the inputs declared ``writeOnly: true``."""
    return frozenset(n for n, schema in pipeline.inputs.items() if schema.get("writeOnly") is True)


class Masker:
    """Replaces the secret values of one run inside strings, lists and mappings."""

    __slots__ = ("_masks", "_secrets")

    def __init__(self, secrets: Mapping[str, str]) -> None:
        """``secrets``: input name → its value."""
        self._secrets = sorted(
            ((value, mask_of(name)) for name, value in secrets.items()),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )
        self._masks = [(mask, value) for value, mask in self._secrets]

    @classmethod
    def for_inputs(cls, pipeline: Pipeline, inputs: Mapping[str, Any]) -> Masker | None:
        """The masker of a run's secret inputs; None when it has none to mask."""
        values = {
            name: value
            for name in secret_inputs(pipeline)
            if isinstance(value := inputs.get(name), str) and len(value) >= MIN_SECRET_LENGTH
        }
        return cls(values) if values else None

    def value(self, value: Any) -> Any:
        """``value`` with every secret inside its strings masked (keys included)."""
        return _replace_in(value, self._secrets)

    def holds_secret(self, value: Any) -> bool:
        """Whether a string inside ``value`` holds one of the secrets."""
        return bool(self.value(value) != value)

    def unmask(self, value: Any) -> Any:
        """``value`` with every mask of a known secret replaced by the secret again."""
        return _replace_in(value, self._masks)


def _replace_in(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in pairs:
            if old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, Mapping):
        return {_replace_in(k, pairs): _replace_in(v, pairs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_replace_in(v, pairs) for v in value]
    return value


def inputs_for_resume(
    pipeline: Pipeline, stored: Mapping[str, Any], given: Mapping[str, Any], run_id: str
) -> dict[str, Any]:
    """The inputs a resumed run goes on with: the stored ones, with the secret ones (which
    were stored masked) given again. Raises :class:`ValueError` naming what is missing or
    not allowed."""
    secrets = secret_inputs(pipeline)
    others = sorted(set(given) - secrets)
    if others:
        raise ValueError(
            f"only secret inputs can be given to a resumed run; {', '.join(others)} "
            f"{'is' if len(others) == 1 else 'are'} kept from the journal"
        )
    check_secrets_given(stored, given, run_id)
    return {**stored, **{name: given[name] for name in secrets if name in given}}


def check_secrets_given(stored: Mapping[str, Any], given: Mapping[str, Any], run_id: str) -> None:
    """Raise :class:`ValueError` when an input stored masked is not in ``given``."""
    missing = sorted(n for n, v in stored.items() if v == mask_of(n) and n not in given)
    if missing:
        flags = " ".join(f"-i {n}=…" for n in missing)
        raise ValueError(
            f"run {run_id!r} has secret inputs that were not stored ({', '.join(missing)}): "
            f"give them again to resume it (evopipe resume {run_id} {flags})"
        )
