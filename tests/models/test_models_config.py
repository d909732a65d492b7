"""Config loading (project + user files), endpoints, secrets hygiene, cost, limits."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from evopipe.models import Message, ModelHub, ModelRequest, Usage, load_config
from evopipe.models.config import ModelConfigError, config_from_dict
from evopipe.models.cost import PriceBook
from evopipe.models.limits import Limiter, RetryingModel, TokenBucket, parse_retry_after
from evopipe.models.testing import FunctionModel, ScriptedModel

USER = """
default_model = "fake"
[endpoints.ollama]
base_url = "http://localhost:11434/v1"
api_key_env = "OLLAMA_KEY"
models = ["qwen3", "llama3.2"]
concurrency = 2
"""
PROJECT = """
default_model = "ollama:qwen3"
[endpoints.ollama]
requests_per_minute = 30
[prices."ollama:qwen3"]
input_per_mtok = 0.5
output_per_mtok = 1.5
"""


def test_project_file_overrides_user_file(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text(USER)
    (tmp_path / "evopipe.toml").write_text(PROJECT)
    config = load_config(tmp_path, env={"EVOPIPE_CONFIG": str(user), "OLLAMA_KEY": "sk-secret"})
    assert config.default_model == "ollama:qwen3"
    endpoint = config.endpoints["ollama"]
    assert endpoint.base_url == "http://localhost:11434/v1"
    assert endpoint.models == ("qwen3", "llama3.2")
    assert (endpoint.concurrency, endpoint.requests_per_minute) == (2, 30)
    assert config.prices["ollama:qwen3"].output_per_mtok == 1.5
    assert endpoint.api_key(config.env) == "sk-secret"
    assert "sk-secret" not in repr(config)
    assert "sk-secret" not in repr(endpoint)
    assert ModelHub(config).default_model_id == "ollama:qwen3"


def test_no_files_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path, user_path=tmp_path / "missing.toml", env={})
    assert config.sources == ()
    assert ModelHub(config).default_model_id == "local:smollm2-135m"


def test_key_in_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "evopipe.toml").write_text('[endpoints.x]\napi_key = "sk-1"\n')
    with pytest.raises(ModelConfigError, match="api_key_env"):
        load_config(tmp_path, user_path=tmp_path / "none.toml", env={})


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "evopipe.toml").write_text("default_model = \n")
    with pytest.raises(ModelConfigError, match=r"evopipe\.toml"):
        load_config(tmp_path, user_path=tmp_path / "none.toml", env={})


def test_unknown_endpoint_setting_is_named() -> None:
    with pytest.raises(ModelConfigError, match="concurency"):
        config_from_dict({"endpoints": {"x": {"concurency": 2}}})


def test_endpoint_ids_resolve_and_unknown_lists_endpoints() -> None:
    hub = ModelHub(config_from_dict({"endpoints": {"lmstudio": {"base_url": "http://h/v1"}}}))
    assert "lmstudio" in hub.providers
    assert hub.get("lmstudio:phi").id == "lmstudio:phi"


def test_price_book_warns_once_per_model(caplog: pytest.LogCaptureFixture) -> None:
    book = PriceBook()
    with caplog.at_level(logging.WARNING, logger="evopipe.models.cost"):
        assert (
            book.cost("openai:no-such-model", Usage(5, 5), provider="openai", model_ref="x") is None
        )
        assert (
            book.cost("openai:no-such-model", Usage(5, 5), provider="openai", model_ref="x") is None
        )
    assert len(caplog.records) == 1
    cost = book.cost("openai:gpt-4o", Usage(1_000_000, 0), provider="openai", model_ref="gpt-4o")
    assert cost == pytest.approx(2.5)


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


async def test_limiter_caps_concurrency() -> None:
    limiter = Limiter(concurrency=2)

    async def work() -> None:
        async with limiter:
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work() for _ in range(8)))
    assert limiter.max_in_flight == 2


async def test_token_bucket_paces_requests() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(60, capacity=1, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        await bucket.acquire()
    assert now[0] == pytest.approx(3.0)  # 60/min = one per second after the first


async def test_hub_limiter_is_shared_per_endpoint() -> None:
    hub = ModelHub(config_from_dict({"endpoints": {"e": {"concurrency": 3}}}))
    assert hub.limiter("e") is hub.limiter("e")
    assert hub.limiter("e").concurrency == 3


async def test_retrying_model_backs_off_without_retry_after() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    inner = ScriptedModel([{"error": "500"}, {"error": "timeout"}, "done"])
    model = RetryingModel(inner, attempts=3, base_delay_s=1.0, sleep=sleep, seed=1)
    request = ModelRequest(messages=(Message("user", "x"),))
    assert (await model.complete(request)).text == "done"
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0
    assert 1.0 <= slept[1] <= 2.0


async def test_retrying_model_gives_up() -> None:
    async def sleep(seconds: float) -> None:
        return None

    model = RetryingModel(FunctionModel(lambda r: {"error": "429"}), attempts=2, sleep=sleep)
    from evopipe.models import RateLimitedError

    with pytest.raises(RateLimitedError):
        await model.complete(ModelRequest(messages=(Message("user", "x"),)))
