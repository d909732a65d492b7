"""Where an ``http`` step may connect: the addresses a host name resolves to, checked, then
pinned.

The allowlist names hosts, but a name is only as safe as what it resolves to: a name whose
DNS answers with 169.254.169.254 (a cloud metadata service) or 10.0.0.5 reaches inside the
network it runs in, and a name that answers differently the second time (DNS rebinding)
passes a check made on the first answer. So the connection is made here, from one
resolution: every address is checked, and the connection goes to a checked address — the
HTTP client never resolves the name again. TLS still verifies the certificate against the
name (the client's ``server_hostname`` is the URL's host, not the address).

Addresses that are not public (loopback, private, link-local, shared, reserved, multicast,
unspecified) are refused unless the policy sets ``http_private_networks`` (an internal service
the user allowlisted on purpose).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore2
import httpx2

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port)`` → the addresses it resolves to, in preference order."""


class AddressRefused(Exception):
    """The host resolved to an address the policy does not let an http step reach."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's answer (``getaddrinfo``), duplicates removed, order kept."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: IpAddress) -> bool:
    """A globally routable unicast address (IPv4-mapped IPv6 judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class PinnedBackend(httpcore2.AsyncNetworkBackend):
    """A network backend that resolves each host once, checks every address and connects
    to the checked ones only."""

    def __init__(
        self,
        *,
        private_networks: bool = False,
        resolve: Resolver = system_resolver,
        inner: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        self.private_networks = private_networks
        self.resolve = resolve
        self.inner = inner if inner is not None else httpcore2.AnyIOBackend()

    async def checked(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` resolves to, or :class:`AddressRefused`."""
        try:
            found = await self.resolve(host, port)
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host!r}: {exc}") from None
        if not found:
            raise httpcore2.ConnectError(f"{host!r} resolves to no address")
        if not self.private_networks:
            refused = [a for a in found if not is_public(ipaddress.ip_address(a))]
            if refused:
                raise AddressRefused(
                    f"{host!r} resolves to {', '.join(refused)}, which is not a public address "
                    "(loopback, private, link-local or reserved); an internal service needs "
                    "http_private_networks = true in the policy"
                )
        return found

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self.checked(host, port):
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise AddressRefused("http steps do not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PinnedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's own transport (its request and error mapping), over a connection pool that
    connects through a :class:`PinnedBackend`."""

    def __init__(self, backend: PinnedBackend) -> None:
        super().__init__(trust_env=False)
        # httpx2 takes no network backend: the pool it built is replaced by one on ours
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False), network_backend=backend
        )
