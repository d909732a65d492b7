"""Datasets of examples: JSONL or CSV rows mapped to pipeline inputs and an expected value.

A row's fields become pipeline inputs through a mapping (``{"text": "question"}`` means the
pipeline input ``text`` takes the row's ``question`` field); one field is the expected value.
Splits are either given (a ``split`` column, or one file per split) or made deterministically
from a seed: examples are ordered by ``sha256(seed, example id)`` and cut by fraction, so a
split never depends on file order and adding rows does not reshuffle the others.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evopipe.spec.errors import EvopipeError

SPLITS = ("train", "val", "test")
ALL = "all"
SPLIT_ALIASES = {"validation": "val", "dev": "val", "valid": "val", "eval": "val"}
EXPECTED_GUESSES = ("expected", "label", "answer", "target", "intent", "output", "reference")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)


class DatasetError(EvopipeError):
    """A dataset file is unreadable, malformed, or does not fit the requested mapping."""


@dataclass(frozen=True, slots=True)
class Example:
    """One example: its stable id, the pipeline inputs, the expected value and the raw row."""

    id: str
    inputs: dict[str, Any]
    expected: Any
    row: dict[str, Any]
    split: str | None = None


@dataclass(frozen=True)
class Dataset:
    """Examples with their splits and a content hash (of the rows, mapping and split plan)."""

    name: str
    source: str
    examples: tuple[Example, ...]
    content_hash: str
    expected_field: str
    mapping: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    given_splits: bool = False

    def split(self, name: str) -> tuple[Example, ...]:
        """The examples of split ``train``, ``val``, ``test`` or ``all``."""
        key = SPLIT_ALIASES.get(name, name)
        if key == ALL:
            return self.examples
        if key not in SPLITS:
            raise DatasetError(f"unknown split {name!r}; use one of {', '.join((*SPLITS, ALL))}")
        return tuple(e for e in self.examples if e.split == key)

    def sizes(self) -> dict[str, int]:
        return {s: len(self.split(s)) for s in SPLITS}


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """``["text=question"]`` → ``{"text": "question"}`` (pipeline input = dataset field)."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        for part in (p.strip() for p in pair.split(",")):
            if not part:
                continue
            name, sep, source = part.partition("=")
            if not sep or not name.strip() or not source.strip():
                raise DatasetError(f"bad mapping {part!r}: expected INPUT=FIELD")
            mapping[name.strip()] = source.strip()
    return mapping


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``.jsonl``/``.json`` (list of objects) or ``.csv`` file."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix == ".csv":
        return [dict(r) for r in csv.DictReader(text.splitlines())]
    if suffix == ".json":
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DatasetError(f"{path}: a .json dataset must be a list of objects")
        return data
    rows: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{lineno}:1: each line must be a JSON object")
        rows.append(row)
    return rows


def load_dataset(
    source: str | Path | Mapping[str, str | Path],
    *,
    mapping: Mapping[str, str] | None = None,
    expected: str | None = None,
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    split_field: str = "split",
    name: str | None = None,
) -> Dataset:
    """Load a dataset from one file, or from one file per split (``{"val": path, ...}``)."""
    if isinstance(source, Mapping):
        files = {SPLIT_ALIASES.get(k, k): Path(v) for k, v in source.items()}
        bad = sorted(set(files) - set(SPLITS))
        if bad:
            raise DatasetError(f"unknown split name(s) {bad}; use {', '.join(SPLITS)}")
        tagged: list[tuple[dict[str, Any], str | None]] = [
            (row, s) for s, p in files.items() for row in read_rows(p)
        ]
        label = ",".join(f"{s}={p}" for s, p in files.items())
        default_name = next(iter(files.values())).stem if files else "dataset"
    else:
        path = Path(source)
        tagged = [(row, None) for row in read_rows(path)]
        label, default_name = str(path), path.stem
    return from_rows(
        [r for r, _ in tagged],
        splits=[s for _, s in tagged],
        mapping=mapping,
        expected=expected,
        seed=seed,
        fractions=fractions,
        split_field=split_field,
        name=name or default_name,
        source=label,
    )


def from_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    splits: Sequence[str | None] | None = None,
    mapping: Mapping[str, str] | None = None,
    expected: str | None = None,
    seed: int = 0,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    split_field: str = "split",
    name: str = "dataset",
    source: str = "<rows>",
) -> Dataset:
    """Build a :class:`Dataset` from in-memory rows (what :func:`load_dataset` does after I/O)."""
    if not rows:
        raise DatasetError(f"{source}: the dataset is empty")
    expected_field = expected or _guess_expected(rows[0], source)
    mapping = dict(mapping or {})
    given: list[str | None] = list(splits) if splits is not None else [None] * len(rows)
    if all(s is None for s in given) and all(split_field in r for r in rows):
        given = [_split_name(str(r[split_field]), source, i) for i, r in enumerate(rows)]
    examples = [
        _example(dict(row), i, expected_field, mapping, split_field, source)
        for i, row in enumerate(rows)
    ]
    examples = _unique_ids(examples)
    has_given = all(s is not None for s in given)
    if has_given:
        examples = [_with_split(e, s) for e, s in zip(examples, given, strict=True)]
    else:
        examples = assign_splits(examples, seed=seed, fractions=fractions)
    digest = _content_hash(rows, expected_field, mapping, seed, fractions, given, has_given)
    return Dataset(
        name=name,
        source=source,
        examples=tuple(examples),
        content_hash=digest,
        expected_field=expected_field,
        mapping=mapping,
        seed=seed,
        given_splits=has_given,
    )


def assign_splits(
    examples: Sequence[Example], *, seed: int, fractions: tuple[float, float, float]
) -> list[Example]:
    """Deterministic seeded split: order by ``sha256(seed:id)`` and cut by fraction."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise DatasetError(f"split fractions must be three non-negative numbers, got {fractions}")
    total = sum(fractions)
    order = sorted(examples, key=lambda e: hashlib.sha256(f"{seed}:{e.id}".encode()).hexdigest())
    n = len(order)
    n_train = round(n * fractions[0] / total)
    n_val = round(n * (fractions[0] + fractions[1]) / total) - n_train
    split_of = {}
    for i, ex in enumerate(order):
        split_of[ex.id] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return [_with_split(e, split_of[e.id]) for e in examples]


def _guess_expected(row: Mapping[str, Any], source: str) -> str:
    for guess in EXPECTED_GUESSES:
        if guess in row:
            return guess
    raise DatasetError(
        f"{source}: no expected field; pass --expected FIELD (fields: {', '.join(row)})"
    )


def _split_name(value: str, source: str, index: int) -> str:
    key = SPLIT_ALIASES.get(value.strip().lower(), value.strip().lower())
    if key not in SPLITS:
        raise DatasetError(f"{source}: row {index + 1}: unknown split {value!r}")
    return key


def _example(
    row: dict[str, Any],
    index: int,
    expected_field: str,
    mapping: Mapping[str, str],
    split_field: str,
    source: str,
) -> Example:
    if expected_field not in row:
        raise DatasetError(f"{source}: row {index + 1} has no expected field {expected_field!r}")
    if mapping:
        missing = [f for f in mapping.values() if f not in row]
        if missing:
            raise DatasetError(
                f"{source}: row {index + 1} lacks mapped field(s) {missing} "
                f"(fields: {', '.join(row)})"
            )
        inputs = {name: row[f] for name, f in mapping.items()}
    else:
        skip = {expected_field, split_field, "id"}
        inputs = {k: v for k, v in row.items() if k not in skip}
    ex_id = str(row["id"]) if "id" in row else _row_digest(row)[:12]
    return Example(id=ex_id, inputs=inputs, expected=row[expected_field], row=row)


def _unique_ids(examples: list[Example]) -> list[Example]:
    seen: dict[str, int] = {}
    out = []
    for ex in examples:
        count = seen.get(ex.id, 0)
        seen[ex.id] = count + 1
        out.append(ex if count == 0 else _with_id(ex, f"{ex.id}-{count}"))
    return out


def _with_split(ex: Example, split: str | None) -> Example:
    return Example(ex.id, ex.inputs, ex.expected, ex.row, split)


def _with_id(ex: Example, new_id: str) -> Example:
    return Example(new_id, ex.inputs, ex.expected, ex.row, ex.split)


def _row_digest(row: Mapping[str, Any]) -> str:
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _content_hash(
    rows: Sequence[Mapping[str, Any]],
    expected_field: str,
    mapping: Mapping[str, str],
    seed: int,
    fractions: tuple[float, float, float],
    given: Sequence[str | None],
    has_given: bool,
) -> str:
    h = hashlib.sha256()
    plan = {
        "expected": expected_field,
        "mapping": dict(sorted(mapping.items())),
        "splits": list(given) if has_given else {"seed": seed, "fractions": list(fractions)},
    }
    h.update(json.dumps(plan, sort_keys=True).encode())
    for row in rows:
        h.update(_row_digest(row).encode())
    return h.hexdigest()


def read_dataset(
    entries: Sequence[str] | str,
    *,
    mapping: Sequence[str] | Mapping[str, str] = (),
    expected: str | None = None,
    seed: int = 0,
) -> Dataset:
    """``["data.jsonl"]``, ``["dir/"]`` (with train/val/test.jsonl) or ``["val=a.jsonl", ...]``
    (a single string is one entry): what ``--dataset`` accepts."""
    if isinstance(entries, str):
        entries = [entries]
    if not entries:
        raise DatasetError("no dataset given (--dataset FILE)")
    kwargs: dict[str, Any] = {
        "mapping": (dict(mapping) if isinstance(mapping, Mapping) else parse_mapping(mapping))
        or None,
        "expected": expected,
        "seed": seed,
    }
    if len(entries) == 1 and "=" not in entries[0]:
        path = Path(entries[0])
        if path.is_dir():
            files = {s: path / f"{s}.jsonl" for s in SPLITS if (path / f"{s}.jsonl").is_file()}
            if not files:
                raise DatasetError(f"{path}: a dataset directory needs train/val/test.jsonl")
            return load_dataset(files, name=path.name, **kwargs)
        return load_dataset(path, **kwargs)
    files_by_split: dict[str, str] = {}
    for entry in entries:
        split, sep, file = entry.partition("=")
        if not sep:
            raise DatasetError(f"--dataset {entry!r}: with several files write SPLIT=FILE")
        files_by_split[split.strip()] = file.strip()
    first = Path(next(iter(files_by_split.values())))
    return load_dataset(files_by_split, name=first.parent.name or first.stem, **kwargs)
