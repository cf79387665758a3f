"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams.

httpx costs more CPU per request than the servers we measure; this client parses only the status line and
Content-Length (or chunked framing), so the server, not the generator, is what saturates. The same generator
drives the baselines and Jinlin in one run, so the ratios between them are fair on a shared machine.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.harness import CpuMeter, client_gc_paused

Body = bytes | Callable[[int], bytes] | None
Headers = dict[str, str] | Callable[[int], dict[str, str]] | None


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CpuMeter.per_request, when asked for (cpu_of)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))]

    def row(self) -> dict:
        return {
            "name": self.name, "concurrency": self.concurrency, "requests": self.requests, "errors": self.errors,
            "rps": round(self.rps, 1), "p50_ms": round(self.pct(50), 2), "p99_ms": round(self.pct(99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            **self.cpu,
        }


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, chunked = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        if key == b"content-length":
            length = int(value.strip())
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


def _request_bytes(method: str, host: str, path: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def run_load(
    name: str,
    url: str,
    *,
    concurrency: int,
    duration: float = 10.0,
    method: str = "GET",
    headers: Headers = None,
    body: Body = None,
    warmup: float = 1.0,
    max_requests: int | None = None,
    cpu_of: int | None = None,
) -> Result:
    """Closed-loop load: ``concurrency`` connections, each sending its next request when the last one answers.
    ``cpu_of``: a server's pid; the result then carries the CPU per request of that server, of PostgreSQL and
    of this load generator, measured over the same window (``bench.harness.CpuMeter``)."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    counter = iter(range(10**12))
    result = Result(name=name, concurrency=concurrency, requests=0, errors=0, seconds=0.0)
    measuring = False
    stop_at = 0.0

    async def one_connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                if max_requests is not None and result.requests >= max_requests:
                    return
                i = next(counter)
                h = headers(i) if callable(headers) else (headers or {})
                b = body(i) if callable(body) else body
                started = time.perf_counter()
                writer.write(_request_bytes(method, f"{host}:{port}", path, h, b))
                try:
                    status = await _read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                if measuring:
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                    result.requests += 1
                    result.statuses[status] = result.statuses.get(status, 0) + 1
                    if status >= 500:
                        result.errors += 1
        finally:
            writer.close()

    if warmup:
        stop_at = time.perf_counter() + warmup
        await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    meter = CpuMeter(cpu_of) if cpu_of is not None else None
    with client_gc_paused():
        measuring = True
        before = meter.sample() if meter else None
        started = time.perf_counter()
        stop_at = started + duration
        await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    if meter and before:
        result.cpu = CpuMeter.per_request(before, meter.sample(), result.requests, result.seconds)
    return result
