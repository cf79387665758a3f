"""Benchmark plumbing: fresh databases, server processes, machine facts, and BENCHMARKS.md.

A scenario module in ``bench/scenarios/`` defines ``async def run(ctx: Context) -> Section``; ``make bench``
(``python -m bench.run [names…]``) runs them, saves ``bench/results/<name>.json`` and rewrites BENCHMARKS.md
from every saved result. Targets are ratios against baselines measured side by side in the same run.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("JINLIN_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("JINLIN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def _default_pool() -> int:
    from backend.config import Settings

    return int(Settings.model_fields["db_pool_size"].default)


# The baselines' connection pool: the size Jinlin runs with by default, so both sides of a ratio queue on
# pools of one size (docs/adr/0029).
POOL = _default_pool()


CPU_NOTE = (
    "api_cpu_ms, pg_cpu_ms, client_cpu_ms: CPU per request of the server process, of every PostgreSQL "
    "process and of the load generator, over the measured window (psutil; bench.harness.CpuMeter); "
    "api_busy: the cores the server kept busy (one uvicorn process near 1.0 is the bottleneck)."
)


class CpuMeter:
    """CPU seconds, split by who spent them: a server (its process and children), PostgreSQL (every process
    named ``postgres*`` on this machine: the benchmark's database, and anyone else's work on it meanwhile),
    and this process (the load generator). A ratio says how much slower one side is; the split says where
    the difference goes, and which process is the bottleneck (``api_busy``: cores the server kept busy)."""

    def __init__(self, server_pid: int) -> None:
        import psutil

        self._psutil = psutil
        self._server = psutil.Process(server_pid)

    def _spent(self, procs) -> float:  # type: ignore[no-untyped-def]
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                continue
            total += times.user + times.system
        return total

    def sample(self) -> tuple[float, float, float]:
        server = self._spent([self._server, *self._server.children(recursive=True)])
        postgres = self._spent(
            p for p in self._psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")
        )
        return server, postgres, time.process_time()

    @staticmethod
    def per_request(before: tuple[float, float, float], after: tuple[float, float, float], requests: int,
                    seconds: float) -> dict[str, float]:
        api, pg, client = (1000 * (b - a) / max(requests, 1) for a, b in zip(before, after, strict=True))
        return {"api_cpu_ms": round(api, 3), "pg_cpu_ms": round(pg, 3), "client_cpu_ms": round(client, 3),
                "api_busy": round((after[0] - before[0]) / seconds, 2) if seconds else 0.0}


@dataclass
class Target:
    what: str
    value: str
    met: bool | None  # None when it cannot be judged (missing data)


@dataclass
class Section:
    name: str
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "platform": platform.platform(), "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


@asynccontextmanager
async def fresh_pg_database(prefix: str = "jinlin_bench"):  # type: ignore[no-untyped-def]
    """A new, migrated PostgreSQL database; dropped afterwards. Yields its URL."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = PG_ADMIN_URL.replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    env = {**os.environ, **server_env(url)}
    subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    try:
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "JINLIN_ENV": "production", "JINLIN_SECRET_KEY": SECRET, "JINLIN_DATABASE_URL": database_url,
        "JINLIN_REDIS_URL": REDIS_URL, "JINLIN_LOG_LEVEL": "WARNING", "JINLIN_H5_DIR": "",
        "JINLIN_WORKER_IN_PROCESS": "false", **extra,
    }


class Server:
    """A uvicorn process serving ``app`` (``module:attr``; ``factory=True`` for factories)."""

    def __init__(self, app: str, *, env: dict[str, str] | None = None, factory: bool = False, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "uvicorn", app, "--port", str(self.port), "--workers", str(workers),
                "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools"]
        if factory:
            args.append("--factory")
        # stderr goes to a file, not a pipe: nobody reads a pipe while the load runs, and a full pipe buffer
        # freezes the server the moment it logs a burst of errors.
        self.log = tempfile.NamedTemporaryFile(prefix="jinlin-bench-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})},
                                     stdout=subprocess.DEVNULL, stderr=self.log)

    def wait(self, path: str = "/healthz", timeout: float = 30.0) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server at {self.url} did not come up")

    def rss_mb(self) -> float:
        """Resident memory of the server process and its children, in MB."""
        import psutil

        proc = psutil.Process(self.proc.pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextmanager
def serving(app: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    server = Server(app, **kwargs)
    try:
        yield server.wait()
    finally:
        server.stop()


def save(section: Section) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{section.name}.json"
    payload = {"machine": machine(), "title": section.title, "rows": section.rows, "notes": section.notes,
               "targets": [t.__dict__ for t in section.targets]}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def render_markdown() -> str:
    out = ["# Benchmarks", "",
           "Written by `make bench` (`python -m bench.run`). Every target is a ratio against a baseline measured",
           "side by side in the same run on the same machine, because these machines are shared and absolute",
           "numbers drift by ±30 %. The load generator (`bench/loadgen.py`) runs on the same box as the server.", ""]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        m = data["machine"]
        out += [f"## {data['title']}", "",
                f"Measured {m['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}.", ""]
        if data["rows"]:
            keys = list(dict.fromkeys(k for row in data["rows"] for k in row))  # every row's columns
            out.append("| " + " | ".join(keys) + " |")
            out.append("|" + "---|" * len(keys))
            for row in data["rows"]:
                out.append("| " + " | ".join(_cell(row.get(k)) for k in keys) + " |")
            out.append("")
        if data["targets"]:
            out += ["| target | measured | met |", "|---|---|---|"]
            for t in data["targets"]:
                met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
                out.append(f"| {t['what']} | {t['value']} | {met} |")
            out.append("")
        out += [f"- {n}" for n in data["notes"]] + ([""] if data["notes"] else [])
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}:{v}" for k, v in value.items())
    return "" if value is None else str(value)


def write_markdown() -> Path:
    path = ROOT / "BENCHMARKS.md"
    path.write_text(render_markdown(), encoding="utf-8")
    return path


@contextmanager
def client_gc_paused():  # type: ignore[no-untyped-def]
    """Keep the load generator's own garbage collector out of the measurement.

    The load generator runs in Python too; a full collection of its heap (thousands of sockets, every latency
    recorded so far) pauses it for ~200 ms on these machines, and every response or frame that arrives
    meanwhile is timestamped late, which showed up as the server's p99. Setup objects are frozen and the
    cyclic collector is off while measuring (reference counting still frees nearly everything); it is
    turned back on, and run, afterwards. The servers under test keep their own collectors."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
        gc.collect()


def tmpdir() -> str:
    return tempfile.mkdtemp(prefix="jinlin-bench-")


def run_async(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)
