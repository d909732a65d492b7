"""The response cache key covers a model's content, not only its id (issue 20, item 6): after
editing a scripted or replay model's file, old answers are not served."""

from __future__ import annotations

from pathlib import Path

from evopipe.evaluate.caching import AlwaysCached
from evopipe.models import InMemoryCache, Message, ModelHub, ModelRequest
from evopipe.models.config import config_from_dict


def _req() -> ModelRequest:
    return ModelRequest(messages=(Message("user", "label this"),), temperature=0)


def _hub(tmp_path: Path, cache: InMemoryCache) -> ModelHub:
    return ModelHub(config_from_dict({}, env={}, base_dir=tmp_path), cache=cache)


async def test_editing_a_scripted_file_invalidates_cached_answers(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    cache = InMemoryCache()
    script.write_text("fallback: old answer\n", encoding="utf-8")
    first = await _hub(tmp_path, cache).get("scripted:script.yaml").complete(_req())
    script.write_text("fallback: new answer\n", encoding="utf-8")
    second = await _hub(tmp_path, cache).get("scripted:script.yaml").complete(_req())
    assert (first.text, second.text) == ("old answer", "new answer")
    assert not second.cached


async def test_an_unchanged_scripted_file_still_hits(tmp_path: Path) -> None:
    (tmp_path / "script.yaml").write_text("fallback: same\n", encoding="utf-8")
    cache = InMemoryCache()
    await _hub(tmp_path, cache).get("scripted:script.yaml").complete(_req())
    again = await _hub(tmp_path, cache).get("scripted:script.yaml").complete(_req())
    assert again.cached


async def test_the_evaluation_cache_also_sees_the_content(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    cache = InMemoryCache()
    script.write_text("fallback: old answer\n", encoding="utf-8")
    first = await AlwaysCached(_hub(tmp_path, cache)).get("scripted:script.yaml").complete(_req())
    script.write_text("fallback: new answer\n", encoding="utf-8")
    second = await AlwaysCached(_hub(tmp_path, cache)).get("scripted:script.yaml").complete(_req())
    assert (first.text, second.text) == ("old answer", "new answer")
