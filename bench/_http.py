"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for load benchmarks: it costs the
client far less CPU than a full client library, so on a small machine the figures are the
server's. Responses must carry Content-Length (JSON) or be an event stream (read by line)."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Conn:
    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Conn:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    async def send(self, method: str, path: str, body: Any = None, extra: str = "") -> None:
        assert self.writer is not None
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}{extra}"
            f"Content-Length: {len(data)}\r\nContent-Type: application/json\r\n\r\n"
        )
        self.writer.write(head.encode() + data)
        await self.writer.drain()

    async def head(self) -> tuple[int, dict[str, str]]:
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        return status, headers

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        await self.send(method, path, body)
        status, headers = await self.head()
        assert self.reader is not None
        data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, data
