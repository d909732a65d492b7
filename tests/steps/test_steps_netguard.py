"""The http step's network guard: a host resolves once, every address is checked, and the
connection goes to a checked address (no DNS rebinding onto internal networks)."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import httpcore2
import pytest

from evopipe.spec.kinds import HttpStep
from evopipe.steps import http
from evopipe.steps.base import StepFailed
from evopipe.steps.netguard import AddressRefused, PinnedBackend, is_public

NOT_PUBLIC = [
    "127.0.0.1",
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1", "::ffff:8.8.8.8"])
def test_global_unicast_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


class _Answers:
    """A resolver answering from a script, one answer per lookup (a rebinding DNS)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        return self.answers.pop(0)


class _Inner(httpcore2.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, **_: Any) -> Any:
        self.connected.append((host, port))
        return object()


async def test_a_name_resolving_to_metadata_is_refused_before_any_connection() -> None:
    inner = _Inner()
    backend = PinnedBackend(resolve=_Answers(["169.254.169.254"]), inner=inner)
    with pytest.raises(AddressRefused, match=r"169\.254\.169\.254, which is not a public address"):
        await backend.connect_tcp("api.example.com", 443)
    assert inner.connected == []


async def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    backend = PinnedBackend(resolve=_Answers(["93.184.216.34", "10.0.0.5"]), inner=_Inner())
    with pytest.raises(AddressRefused, match=r"10\.0\.0\.5"):
        await backend.connect_tcp("api.example.com", 443)


async def test_the_connection_goes_to_the_checked_address_not_to_a_second_answer() -> None:
    # the DNS would answer 127.0.0.1 the second time: it is never asked again
    answers = _Answers(["93.184.216.34"], ["127.0.0.1"])
    inner = _Inner()
    backend = PinnedBackend(resolve=answers, inner=inner)
    await backend.connect_tcp("api.example.com", 443)
    assert inner.connected == [("93.184.216.34", 443)]
    assert answers.lookups == 1


async def test_the_policy_can_open_private_networks() -> None:
    inner = _Inner()
    backend = PinnedBackend(private_networks=True, resolve=_Answers(["10.0.0.5"]), inner=inner)
    await backend.connect_tcp("intranet.example.com", 80)
    assert inner.connected == [("10.0.0.5", 80)]


async def test_unix_sockets_are_refused() -> None:
    with pytest.raises(AddressRefused):
        await PinnedBackend(inner=_Inner()).connect_unix_socket("/run/docker.sock")


async def _serve_once() -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"inside": true}'
        head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}"
        writer.write(head.encode() + b"\r\nconnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_an_allowlisted_name_of_a_loopback_service_needs_the_policy(
    trusted_ctx: Any,
) -> None:
    """End to end, with the real resolver and a real server on 127.0.0.1 (no other address):
    ``localhost`` is allowlisted, yet it resolves to loopback — refused by default."""
    server, port = await _serve_once()
    async with server:
        trusted_ctx.policy = trusted_ctx.policy.replace(http_allow_hosts=frozenset({"localhost"}))
        config = HttpStep(id="h", url=f"http://localhost:{port}/x")
        with pytest.raises(StepFailed, match=r"'localhost' resolves to .*not a public address"):
            await http.run(trusted_ctx, config)
        trusted_ctx.policy = trusted_ctx.policy.replace(http_private_networks=True)
        result = await http.run(trusted_ctx, config)
    assert result.output["status"] == 200
    assert result.output["json"] == {"inside": True}
