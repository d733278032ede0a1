"""A minimal keep-alive HTTP/1.1 client for load generation on the same machine.

httpx spends about as much CPU per request as the server under test does; on a 2-core box
that CPU is taken from the server and caps the figure the benchmark can show. This client
does only what the work-loop benchmark needs (POST with a JSON body, a response with a
Content-Length, or none for 204), like the small load generators (wrk, oha) used for
server benchmarks elsewhere.
"""

from __future__ import annotations

import asyncio


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self._head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    @property
    def local_port(self) -> int:
        assert self._writer is not None
        return int(self._writer.get_extra_info("sockname")[1])

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()

    async def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n{self._head}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        payload = await self._reader.readexactly(length) if length else b""
        return status, payload
