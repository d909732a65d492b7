"""`make demo` end to end on the fake model (the real run uses the embedded model)."""

from pathlib import Path

import pytest

from evopipe import demo, load_file


async def test_demo_generates_validates_runs_and_evolves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    await demo.main_async("fake", generations=1, skip_evolve=False)
    out = capsys.readouterr().out
    generated = tmp_path / ".evopipe" / "demo" / "generated.yaml"
    assert load_file(generated).pipeline.metadata["origin"] == "genesis"
    assert "valid (0 diagnostics)" in out
    assert "succeeded" in out
    assert "lineage of" in out
    assert "champion" in out
    assert (tmp_path / ".evopipe" / "demo" / "demo.db").exists()
