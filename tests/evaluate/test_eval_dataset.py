"""Datasets: reading JSONL/CSV, field mapping, expected field, splits, content hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evopipe.evaluate.dataset import DatasetError, from_rows, load_dataset, parse_mapping

BANKING = Path(__file__).resolve().parents[2] / "examples" / "data" / "banking10"


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _rows(n: int) -> list[dict[str, object]]:
    return [{"question": f"q{i}", "label": f"l{i % 3}"} for i in range(n)]


def test_jsonl_with_mapping_and_expected_field(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", _rows(10))
    ds = load_dataset(path, mapping=parse_mapping(["text=question"]), expected="label")
    assert ds.name == "d"
    assert len(ds.examples) == 10
    first = ds.examples[0]
    assert first.inputs == {"text": "q0"}
    assert first.expected == "l0"
    assert ds.expected_field == "label"


def test_expected_field_is_guessed_and_unknown_one_is_a_clear_error(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", _rows(3))
    ds = load_dataset(path)
    assert ds.expected_field == "label"
    assert ds.examples[0].inputs == {"question": "q0"}
    with pytest.raises(DatasetError, match="no expected field 'nope'"):
        load_dataset(path, expected="nope")
    with pytest.raises(DatasetError, match="lacks mapped field"):
        load_dataset(path, mapping={"text": "missing"})


def test_csv_dataset(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,category\nhello,greet\nbye,part\n", encoding="utf-8")
    ds = load_dataset(path, expected="category")
    assert [e.expected for e in ds.examples] == ["greet", "part"]
    assert ds.examples[1].inputs == {"text": "bye"}


def test_bad_json_line_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1, "label": 2}\n{"a": \n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2:\d+: invalid JSON"):
        load_dataset(path)
    with pytest.raises(DatasetError, match="no such dataset file"):
        load_dataset(tmp_path / "absent.jsonl")


def test_seeded_splits_are_deterministic_and_partition_the_data() -> None:
    rows = _rows(100)
    one = from_rows(rows, seed=7)
    two = from_rows(list(reversed(rows)), seed=7)
    assert one.sizes() == {"train": 60, "val": 20, "test": 20}
    for split in ("train", "val", "test"):
        assert {e.id for e in one.split(split)} == {e.id for e in two.split(split)}
    ids = [e.id for s in ("train", "val", "test") for e in one.split(s)]
    assert sorted(ids) == sorted(e.id for e in one.examples)
    other = from_rows(rows, seed=8)
    assert {e.id for e in other.split("val")} != {e.id for e in one.split("val")}
    assert one.content_hash != other.content_hash


def test_adding_rows_does_not_move_existing_examples_much() -> None:
    base = from_rows(_rows(200), seed=1)
    grown = from_rows(_rows(220), seed=1)
    moved = sum(
        1 for e in base.examples if e.split != next(g.split for g in grown.examples if g.id == e.id)
    )
    assert moved < 40  # hash ordering: only examples near the cut points can change split


def test_given_split_column_and_split_files(tmp_path: Path) -> None:
    rows = [{"q": "a", "label": "x", "split": "train"}, {"q": "b", "label": "y", "split": "dev"}]
    ds = from_rows(rows)
    assert ds.given_splits
    assert [e.inputs for e in ds.split("val")] == [{"q": "b"}]
    with pytest.raises(DatasetError, match="unknown split 'weird'"):
        from_rows([{"q": "a", "label": "x", "split": "weird"}])
    files = load_dataset({"train": BANKING / "train.jsonl", "val": BANKING / "val.jsonl"})
    assert files.sizes() == {"train": 50, "val": 50, "test": 0}
    assert files.expected_field == "intent"
    with pytest.raises(DatasetError, match="unknown split"):
        files.split("holdout")


def test_content_hash_depends_on_rows_and_mapping_not_on_reading_twice(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", _rows(5))
    assert load_dataset(path).content_hash == load_dataset(path).content_hash
    mapped = load_dataset(path, mapping={"text": "question"})
    assert mapped.content_hash != load_dataset(path).content_hash
    _write_jsonl(path, [*_rows(5), {"question": "extra", "label": "l0"}])
    assert load_dataset(path).content_hash != mapped.content_hash


def test_duplicate_rows_get_distinct_ids() -> None:
    ds = from_rows([{"q": "same", "label": "x"}] * 3)
    assert len({e.id for e in ds.examples}) == 3


def test_parse_mapping_errors() -> None:
    assert parse_mapping(["a=b,c=d", "e=f"]) == {"a": "b", "c": "d", "e": "f"}
    with pytest.raises(DatasetError, match="INPUT=FIELD"):
        parse_mapping(["oops"])


def test_service_reads_a_directory_or_split_files() -> None:
    from evopipe.evaluate.dataset import read_dataset

    by_dir = read_dataset([str(BANKING)])
    assert by_dir.name == "banking10"
    assert by_dir.sizes() == {"train": 50, "val": 50, "test": 100}
    by_files = read_dataset([f"val={BANKING / 'val.jsonl'}", f"test={BANKING / 'test.jsonl'}"])
    assert by_files.sizes() == {"train": 0, "val": 50, "test": 100}
    assert by_files.content_hash != by_dir.content_hash
    with pytest.raises(DatasetError, match="SPLIT=FILE"):
        read_dataset([str(BANKING / "val.jsonl"), str(BANKING / "test.jsonl")])
    with pytest.raises(DatasetError, match="no dataset given"):
        read_dataset([])
