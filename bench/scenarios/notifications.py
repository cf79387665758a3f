"""Issue 3 benchmark: commit → socket latency of notifications across two API processes.

Two uvicorn API processes and one ``jinlin worker`` on PostgreSQL + Redis; 2,000 residents (5 per building in
400 buildings) each hold one socket, spread over both processes. A community staff member posts announcements
through the API at a fixed 100 events/s (round-robin over both processes), each to the residents of one
building, so every event is 5 inbox rows and 5 socket frames. For each frame received we take

- ``t``: the event's ``created_at``, written inside the transaction a few milliseconds before COMMIT
  (carried in the frame), so ``receipt − t`` is an upper bound of commit → receipt;
- the time the HTTP 201 came back (after COMMIT): ``receipt − response`` is a lower bound (negative when the
  socket beats the HTTP response).

Lost and duplicated frames are counted per (user, item id) against what each event's response says it created.
Baseline, measured in the same run: a bare Redis PUBLISH → subscriber receipt at the same message rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx

from bench.harness import (
    REDIS_URL,
    ROOT,
    SECRET,
    Section,
    Target,
    client_gc_paused,
    free_port,
    fresh_pg_database,
    server_env,
)

SOCKETS = int(os.environ.get("BENCH_SOCKETS", "2000"))
RATE = float(os.environ.get("BENCH_EVENTS_PER_SECOND", "100"))
DURATION = float(os.environ.get("BENCH_DURATION", "30"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
PER_BUILDING = 5
POOL = os.environ.get("BENCH_DB_POOL", "8")  # per process; the PostgreSQL on these machines is shared (100 connections)


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    return data[min(len(data) - 1, int(round(p / 100 * (len(data) - 1))))]


def _summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": round(_pct(values, 50), 2), "p90_ms": round(_pct(values, 90), 2),
            "p99_ms": round(_pct(values, 99), 2), "max_ms": round(max(values), 2) if values else None,
            "mean_ms": round(statistics.fmean(values), 2) if values else None}


# ------------------------------------------------------------------------------------------------ seeding


async def _seed(database_url: str) -> dict[str, Any]:
    """Org tree, residents, one staff member, a session and an access token each (straight into the database)."""
    from tortoise.context import TortoiseContext

    from backend.config import Settings
    from backend.core import security
    from backend.core.db import tortoise_config
    from backend.models.auth import AuthSession
    from backend.models.org import Household, OrgLevel, OrgUnit
    from backend.models.user import Role, RoleGrant, User
    from backend.org.scope import ancestor_columns

    settings = Settings(_env_file=None, env="production", secret_key=SECRET, database_url=database_url)
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(settings))

        async def unit(level, name, parent):  # type: ignore[no-untyped-def]
            row = await OrgUnit.create(level=level, name=name, parent=parent, **ancestor_columns(parent, level, None))
            setattr(row, level.column, row.id)
            await row.save(update_fields=[level.column])
            return row

        street = await unit(OrgLevel.STREET, "压测街道", None)
        community = await unit(OrgLevel.COMMUNITY, "压测社区", street)
        buildings: list[OrgUnit] = []
        n_buildings = SOCKETS // PER_BUILDING
        for g in range(max(1, n_buildings // 20)):
            grid = await unit(OrgLevel.GRID, f"网格{g + 1}", community)
            compound = await unit(OrgLevel.COMPOUND, f"小区{g + 1}", grid)
            for b in range(20):
                if len(buildings) < n_buildings:
                    buildings.append(await unit(OrgLevel.BUILDING, f"{b + 1}号楼", compound))
        households = []
        for building in buildings:
            columns = ancestor_columns(building, OrgLevel.BUILDING, building.id)
            columns.pop("building_id")
            households += [Household(building_id=building.id, door_no=f"1单元{h + 1}01", **columns)
                           for h in range(PER_BUILDING)]
        await Household.bulk_create(households, batch_size=500)
        rows = await Household.all().order_by("id").values_list("id", "building_id")
        await User.bulk_create([User(name=f"居民{i}", phone=f"1380000{i:04d}", household_id=hid)
                                for i, (hid, _) in enumerate(rows)], batch_size=500)
        users = await User.all().order_by("id").values_list("id", "household_id")
        building_of = dict(rows)
        await RoleGrant.bulk_create([RoleGrant(user_id=uid, role=Role.RESIDENT, org_unit_id=community.id)
                                     for uid, _ in users], batch_size=500)
        staff = await User.create(name="社区干部", phone="13900000000")
        await RoleGrant.create(user=staff, role=Role.COMMUNITY_STAFF, org_unit=community)
        everyone = [uid for uid, _ in users] + [staff.id]
        sessions = {uid: uuid.uuid4() for uid in everyone}
        await AuthSession.bulk_create([AuthSession(id=sid, user_id=uid, method="bench") for uid, sid in sessions.items()],
                                      batch_size=500)
        tokens = {uid: security.issue_access(settings, user_id=uid, session_id=sid) for uid, sid in sessions.items()}
        residents_of: dict[int, list[int]] = defaultdict(list)
        for uid, hid in users:
            residents_of[building_of[hid]].append(uid)
    return {"buildings": [b.id for b in buildings], "residents_of": dict(residents_of),
            "resident_tokens": {uid: tokens[uid] for uid, _ in users}, "staff_token": tokens[staff.id]}


# ------------------------------------------------------------------------------------------------ processes


LOG_DIR = tempfile.mkdtemp(prefix="jinlin-bench-notifications-")


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:  # type: ignore[type-arg]
    # stderr to a file, not a pipe nobody reads: a full pipe would block the process on its next log line.
    log = open(os.path.join(LOG_DIR, f"{args[1].replace('.', '_')}-{time.monotonic_ns()}.log"), "w")  # noqa: SIM115
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=log)


def _api(env: dict[str, str]) -> tuple[subprocess.Popen, int]:  # type: ignore[type-arg]
    port = free_port()
    proc = _spawn(["-m", "uvicorn", "backend.main:app_factory", "--factory", "--port", str(port), "--log-level",
                   "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools",
                   "--ws-per-message-deflate", "false"], env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"API exited; see the logs in {LOG_DIR}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return proc, port
        time.sleep(0.1)
    raise RuntimeError("API did not come up")


def _stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


# ------------------------------------------------------------------------------------------------ measuring

QUIET_LOAD = float(os.environ.get("BENCH_QUIET_LOAD", "1.0"))
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT", "180"))


async def _quiet_machine() -> float:
    """These machines are shared: wait (bounded) for other people's load to pass; returns the load average."""
    deadline = time.monotonic() + QUIET_WAIT_S
    while os.getloadavg()[0] >= QUIET_LOAD and time.monotonic() < deadline:
        await asyncio.sleep(5)
    return os.getloadavg()[0]


class _CpuMeter:
    """System-wide CPU use, and each of this run's processes' (this one and its children), between start and stop."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        psutil.cpu_percent(interval=None)
        self.started = time.monotonic()
        self.before = self._ours()

    def _ours(self) -> dict[int, tuple[str, float]]:
        out = {}
        for proc in [self.me, *self.me.children(recursive=True)]:
            with contextlib.suppress(Exception):
                times = proc.cpu_times()
                cmd = " ".join(proc.cmdline())
                role = "worker" if "worker" in cmd else "api" if "uvicorn" in cmd else "load generator + sockets"
                out[proc.pid] = (role, times.user + times.system)
        return out

    def stop(self) -> tuple[float, dict[str, float]]:
        import psutil

        elapsed = time.monotonic() - self.started
        system = psutil.cpu_percent(interval=None) * (os.cpu_count() or 1)
        by_role: dict[str, float] = defaultdict(float)
        for pid, (role, spent) in self._ours().items():
            by_role[role] += 100 * (spent - self.before.get(pid, (role, 0.0))[1]) / elapsed
        return system, dict(by_role)


class Receiver:
    """The sockets: every item frame is timestamped on arrival and counted per (user, item)."""

    def __init__(self) -> None:
        self.received: list[tuple[int, str, int, float, float]] = []  # user, title, item id, t, arrival
        self.closed_unexpectedly = 0
        self.connections: list[Any] = []

    async def open(self, url: str, user_id: int, token: str) -> None:
        from websockets.asyncio.client import connect

        conn = await connect(url + "/api/v1/ws", subprotocols=["jinlin.v1", f"bearer.{token}"], proxy=None,
                             compression=None, open_timeout=30, ping_interval=None)
        json.loads(await conn.recv())  # hello
        await conn.send(json.dumps({"type": "resume", "after": None}))
        while json.loads(await conn.recv())["type"] != "resumed":
            pass
        self.connections.append(conn)
        asyncio.create_task(self._read(conn, user_id))

    async def _read(self, conn: Any, user_id: int) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in conn:
                arrival = time.time()
                message = json.loads(raw)
                if message["type"] == "item":
                    item = message["item"]
                    self.received.append((user_id, item["title"], item["id"], message["t"], arrival))
                elif message["type"] == "ping":
                    await conn.send('{"type":"pong"}')
        except ConnectionClosed:
            self.closed_unexpectedly += 1


async def _redis_baseline(n: int, rate: float) -> list[float]:
    """Bare Redis: PUBLISH a timestamp at ``rate``/s, a pattern subscriber notes the receipt."""
    from redis import asyncio as aioredis

    channel = f"bench-baseline-{uuid.uuid4().hex[:6]}"
    sub_client, pub_client = aioredis.from_url(REDIS_URL), aioredis.from_url(REDIS_URL)
    pubsub = sub_client.pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(channel + ":*")
    latencies: list[float] = []

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                latencies.append((time.time() - float(message["data"])) * 1000)
                if len(latencies) >= n:
                    return

    listener = asyncio.create_task(listen())
    start = time.perf_counter()
    for i in range(n):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        await pub_client.publish(f"{channel}:{i % 2000}", repr(time.time()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener, timeout=10)
    await pubsub.aclose()
    await sub_client.aclose()
    await pub_client.aclose()
    return latencies


async def _load(api_urls: list[str], staff_token: str, buildings: list[int], n: int, rate: float,
                sent: dict[str, tuple[int, float, int]]) -> list[int]:
    """Open loop: one announcement every 1/rate s, each to one building, round-robin over the API processes."""
    statuses: list[int] = []
    headers = {"Authorization": f"Bearer {staff_token}"}
    clients = [httpx.AsyncClient(base_url=u, headers=headers, timeout=30,
                                 limits=httpx.Limits(max_connections=64)) for u in api_urls]

    async def one(i: int) -> None:
        title = f"压测通知{i}"
        building = buildings[i % len(buildings)]
        try:
            resp = await clients[i % len(clients)].post("/api/v1/notifications/announcements", json={
                "unit_id": building, "audience": "residents", "title": title})
        except httpx.HTTPError:
            statuses.append(0)  # counted as a failed request; nothing was created that we would wait for
            return
        statuses.append(resp.status_code)
        if resp.status_code == 201:
            sent[title] = (building, time.time(), resp.json()["recipients"])

    tasks = []
    start = time.perf_counter()
    for i in range(n):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    for c in clients:
        await c.aclose()
    return statuses


async def run() -> Section:
    section = Section(name="notifications", title="Notifications: commit → socket latency across two API processes (issue 3)")
    n_events = int(RATE * DURATION)
    load_before = await _quiet_machine()
    async with fresh_pg_database() as db:
        seeded = await _seed(db)
        env = server_env(db, JINLIN_DB_POOL_SIZE=POOL)
        apis = [_api(env) for _ in range(2)]
        workers = [_spawn(["-m", "backend.cli", "worker"], env) for _ in range(WORKERS)]
        receiver = Receiver()
        try:
            urls = [f"ws://127.0.0.1:{port}" for _, port in apis]
            residents = sorted(seeded["resident_tokens"].items())
            gate = asyncio.Semaphore(100)

            async def connect(i: int, uid: int, token: str) -> None:
                async with gate:
                    await receiver.open(urls[i % 2], uid, token)

            t0 = time.perf_counter()
            await asyncio.gather(*(connect(i, uid, tok) for i, (uid, tok) in enumerate(residents)))
            connect_s = time.perf_counter() - t0
            print(f"   {len(receiver.connections)} sockets connected in {connect_s:.1f}s", flush=True)

            baseline = await _redis_baseline(n_events * PER_BUILDING // 5, RATE * PER_BUILDING)
            sent: dict[str, tuple[int, float, int]] = {}
            with client_gc_paused():
                cpu = _CpuMeter()
                load_start = time.perf_counter()
                statuses = await _load([f"http://127.0.0.1:{port}" for _, port in apis], seeded["staff_token"],
                                       seeded["buildings"], n_events, RATE, sent)
                load_s = time.perf_counter() - load_start
                system_busy, ours = cpu.stop()
                expected = sum(r for _, _, r in sent.values())
                deadline = time.monotonic() + 15
                while len(receiver.received) < expected and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                await asyncio.sleep(1.0)  # late duplicates, if any, arrive now
        finally:
            for conn in receiver.connections:
                with contextlib.suppress(Exception):
                    await conn.close()
            for proc in workers:
                _stop(proc)
            for proc, _ in apis:
                _stop(proc)

    residents_of = seeded["residents_of"]
    want = {(uid, title) for title, (building, _, _) in sent.items() for uid in residents_of[building]}
    seen: dict[tuple[int, str], int] = defaultdict(int)
    upper, lower = [], []
    for uid, title, _item, t, arrival in receiver.received:
        seen[(uid, title)] += 1
        upper.append((arrival - t) * 1000)
        if title in sent:
            lower.append((arrival - sent[title][1]) * 1000)
    lost = len(want - set(seen))
    duplicated = sum(c - 1 for c in seen.values() if c > 1)
    stray = len(set(seen) - want)
    up, base = _summary(upper), _summary(baseline)
    achieved = len(statuses) / load_s if load_s else 0
    section.rows = [
        {"measure": "created_at → socket receipt (upper bound of commit → receipt)", **up},
        {"measure": "HTTP 201 received → socket receipt (lower bound; < 0 when the socket wins)", **_summary(lower)},
        {"measure": "bare Redis PUBLISH → subscriber receipt (baseline)", **base},
    ]
    section.targets = [
        Target("commit → socket p50 ≤ 15 ms", f"{up['p50_ms']} ms (baseline {base['p50_ms']} ms)", up["p50_ms"] <= 15),
        Target("commit → socket p99 ≤ 100 ms", f"{up['p99_ms']} ms (baseline {base['p99_ms']} ms)", up["p99_ms"] <= 100),
        Target("zero lost", f"{lost} of {len(want)}", lost == 0 and bool(want)),
        Target("zero duplicated", f"{duplicated}", duplicated == 0 and stray == 0),
    ]
    errors = sum(1 for s in statuses if s != 201)
    section.notes = [
        f"{len(receiver.connections)} sockets (one per resident) over 2 uvicorn API processes (uvloop, no "
        f"permessage-deflate), {WORKERS} `jinlin worker` process(es), PostgreSQL + Redis, all on this machine with "
        f"the load generator and the 2,000 socket clients (one Python process).",
        f"{len(statuses)} announcements at {RATE:.0f}/s target ({achieved:.0f}/s achieved, {errors} non-201), "
        f"each to the {PER_BUILDING} residents of one building: {expected} expected frames, "
        f"{len(receiver.received)} received; sockets closed during the run: {receiver.closed_unexpectedly}.",
        "Latency is measured from the event's created_at (written inside the transaction, before COMMIT), so it "
        "includes the rest of the request's transaction and overstates commit → receipt by a few milliseconds; "
        "the HTTP-response row bounds it from below.",
        f"Sockets connected (authenticated, resumed) in {connect_s:.1f} s, at most 100 handshakes at a time.",
        "The client process's cyclic garbage collector is paused while measuring (bench.harness.client_gc_paused): "
        "its full collections took ~200 ms with 2,000 sockets open and made every frame arriving meanwhile look "
        "late (they were the spikes at the 5th and 28th second of earlier runs). The servers and the worker keep "
        "theirs.",
        f"Shared machine: 1-minute load average {load_before:.2f} when the run started (it waits up to "
        f"{QUIET_WAIT_S:.0f} s for it to fall below {QUIET_LOAD}); during the load the CPUs were {system_busy:.0f} % "
        f"busy in total (of {100 * (os.cpu_count() or 1)} %), of which this run's Python processes: "
        + ", ".join(f"{role} {share:.0f} %" for role, share in sorted(ours.items()))
        + "; the rest is PostgreSQL, Redis and anything else running on the box.",
    ]
    return section


if __name__ == "__main__":
    print(asyncio.run(run()))
