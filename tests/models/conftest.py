"""Shared fixtures: a scripted HTTP mock for the SDK adapters (httpx2.MockTransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from models_mock_http import MockServer

from evopipe.models import ModelHub
from evopipe.models.config import config_from_dict


@pytest.fixture
def server() -> MockServer:
    return MockServer()


@pytest.fixture
async def http_client(server: MockServer) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(server.handler)) as client:
        yield client


@pytest.fixture
def mock_hub(http_client: httpx2.AsyncClient) -> ModelHub:
    config = config_from_dict({}, env={})
    return ModelHub(config, http_client=http_client)
