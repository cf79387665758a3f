"""Issue 7 benchmark: 入户走访.

- the plan: ``GET /api/v1/visits/plan`` (with the caller's position) for visitors holding 100 households each, in
  a community of 50,000 households whose visit table holds ~150,000 visits of the last two months, through the
  real app (one uvicorn process): p50/p99 at 1, 4 and 16 concurrent clients, rotating over 100 visitors;
- the monthly 台账 export of a community of 10,000 households (50 grids, 100 visitors, ~15,000 visits and
  ~3,000 problems this month): wall time and peak memory of a process running exactly what
  ``jinlin visits export`` runs (peak RSS from getrusage; Python's own peak from tracemalloc in a second run).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx

from bench.harness import POOL, ROOT, Section, Target, fresh_pg_database, server_env, serving
from bench.loadgen import run_load

DURATION = float(os.environ.get("BENCH_DURATION", "8"))
BIG = int(os.environ.get("BENCH_VISIT_HOUSEHOLDS", "50000"))
EXPORT = int(os.environ.get("BENCH_EXPORT_HOUSEHOLDS", "10000"))

SEED = r'''
import asyncio, json, random, sys, uuid
from datetime import timedelta
import asyncpg
from backend.cli import _with_orm
from backend.config import get_settings
from backend.auth.service import start_session
from backend.core.timeutil import utcnow
from backend.models.org import OrgLevel, OrgUnit
from backend.models.user import Role, RoleGrant, User
from backend.org.scope import ancestor_columns
from backend.visits import months

CENTER = (36.0712, 103.7405)
BIG, EXPORT = int(sys.argv[1]), int(sys.argv[2])
PER_GRID, PER_BUILDING, PER_VISITOR = 200, 48, 100

async def unit(level, name, parent, **extra):
    u = await OrgUnit.create(level=level, name=name, parent=parent, **ancestor_columns(parent, level, None), **extra)
    setattr(u, level.column, u.id); await u.save(update_fields=[level.column]); return u

async def community(conn, street, name, households, visitors_from, rng, now, since, visits_per_household):
    c = await unit(OrgLevel.COMMUNITY, name, street)
    grids = [await unit(OrgLevel.GRID, f"第{g + 1}网格", c) for g in range(households // PER_GRID)]
    buildings = []
    for g, grid in enumerate(grids):
        for b in range(-(-PER_GRID // PER_BUILDING)):
            lat = CENTER[0] + 0.002 * (g % 25) + 0.0003 * b
            lng = CENTER[1] + 0.002 * (g // 25)
            buildings.append((grid, await OrgUnit.create(level=OrgLevel.BUILDING, name=f"{b + 1}号楼", parent=grid,
                                                        lat=lat, lng=lng, **ancestor_columns(grid, OrgLevel.BUILDING, None))))
    await conn.execute("UPDATE org_unit SET building_id = id WHERE level = 'building' AND building_id IS NULL")
    rows, n = [], 0
    for grid in grids:
        mine = [b for gr, b in buildings if gr.id == grid.id]
        for i in range(PER_GRID):
            b = mine[i // PER_BUILDING]
            r = rng.random()
            rows.append((b.id, f"{i // 24 + 1}单元{i % 24 + 1:03d}", f"压测路{n}号", f"139{n:08d}", rng.randint(1, 5),
                         r < 0.14, r < 0.06, r > 0.97, False, 0.06 < r < 0.11, street.id, c.id, grid.id, now, now))
            n += 1
    await conn.copy_records_to_table("household", records=rows, columns=[
        "building_id", "door_no", "address", "contact_phone", "members_count", "is_elderly", "is_living_alone",
        "is_disabled", "is_low_income", "is_hardship", "street_id", "community_id", "grid_id", "created_at",
        "updated_at"])
    hs = await conn.fetch("SELECT h.id, h.grid_id, h.building_id, b.lat, b.lng FROM household h "
                          "JOIN org_unit b ON b.id = h.building_id WHERE h.community_id = $1 ORDER BY h.id", c.id)
    visitors = []
    for v in range(len(hs) // PER_VISITOR):
        grid_id = hs[v * PER_VISITOR]["grid_id"]
        u = await User.create(name=f"{name}党员{v}", phone=f"1{visitors_from + v:010d}")
        await RoleGrant.create(user=u, role=Role.PARTY_MEMBER, org_unit_id=grid_id)
        visitors.append(u)
    assignments, spans, visits, problems = [], [], [], []
    start = now - timedelta(days=90)
    for k, h in enumerate(hs):
        visitor = visitors[min(k // PER_VISITOR, len(visitors) - 1)]
        place = (street.id, c.id, h["grid_id"], None, h["building_id"])
        assignments.append((h["id"], visitor.id, start, *place))
        spans.append((h["id"], visitor.id, start, *place))
        count = visits_per_household(rng)
        for j in range(count):
            at = since + timedelta(seconds=rng.uniform(0, max((now - since).total_seconds() - 60, 60)))
            home = rng.random() > 0.12
            tags = rng.choice([[], [], [], [], ["safety"], ["care"]]) if home else []
            far = rng.random() < 0.03
            visits.append((uuid.uuid4(), visitor.id, h["id"], at, at, at, at, 0, h["lat"], h["lng"], 15.0,
                           1100.0 if far else 12.0, 150, far, far, "[]", home, "压测", json.dumps(tags), "[]", "online",
                           "none", 1, "0" * 64, at, at, *place))
    await conn.copy_records_to_table("visit_assignment", records=assignments, columns=[
        "household_id", "visitor_id", "assigned_at", "street_id", "community_id", "grid_id", "compound_id",
        "building_id"])
    await conn.copy_records_to_table("visit_assignment_span", records=spans, columns=[
        "household_id", "visitor_id", "started_at", "street_id", "community_id", "grid_id", "compound_id",
        "building_id"])
    await conn.copy_records_to_table("visit", records=visits, columns=[
        "client_id", "visitor_id", "household_id", "visited_at", "effective_at", "client_sent_at", "received_at",
        "skew_seconds", "lat", "lng", "accuracy_m", "distance_m", "fence_m", "out_of_fence", "flagged", "flags",
        "at_home", "notes", "tags", "photo_ids", "source", "review_status", "version", "content_hash", "created_at",
        "updated_at", "street_id", "community_id", "grid_id", "compound_id", "building_id"])
    await conn.execute(
        "INSERT INTO visit_problem (visit_id, household_id, visitor_id, tag, found_at, street_id, community_id, "
        "grid_id, compound_id, building_id, solved_at) SELECT v.id, v.household_id, v.visitor_id, t.tag, "
        "v.effective_at, v.street_id, v.community_id, v.grid_id, v.compound_id, v.building_id, "
        "CASE WHEN v.id % 3 = 0 THEN v.effective_at END FROM visit v, jsonb_array_elements_text(v.tags) AS t(tag) "
        "WHERE v.community_id = $1", c.id)
    spots = {grid.id: (CENTER[0] + 0.002 * (g % 25), CENTER[1] + 0.002 * (g // 25)) for g, grid in enumerate(grids)}
    where = [spots[hs[v * PER_VISITOR]["grid_id"]] for v in range(len(visitors))]
    return c, visitors, len(visits), where

async def make():
    rng = random.Random(7)
    now = utcnow()
    dsn = get_settings().database_url.split("?")[0].replace("postgres://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    street = await unit(OrgLevel.STREET, "压测街道", None)
    month_start, _ = months.bounds(months.current_month(now))
    big, big_visitors, big_visits, where = await community(conn, street, "大社区", BIG, 3_000_000_000, rng, now,
                                                    now - timedelta(days=60), lambda r: r.choice([2, 3, 4]))
    small, _, small_visits, _ = await community(conn, street, "台账社区", EXPORT, 4_000_000_000, rng, now,
                                             min(month_start, now - timedelta(hours=2)), lambda r: r.choice([0, 1, 2, 3]))
    await conn.execute("ANALYZE")
    await conn.close()
    settings = get_settings()
    tokens = [(await start_session(settings, u, method="bench", user_agent=None)).access_token
              for u in big_visitors[:100]]
    points = [list(p) for p in where[:100]]
    print(json.dumps({"tokens": tokens, "points": points, "big_id": big.id, "export_id": small.id,
                      "big_visits": big_visits, "export_visits": small_visits}))

asyncio.run(_with_orm(make))
'''

EXPORT_RUN = r'''
import asyncio, json, resource, sys, time, tracemalloc
from backend.cli import _with_orm
from backend.models.org import OrgUnit
from backend.visits import ledger_export, months

async def main():
    unit = await OrgUnit.get(id=int(sys.argv[1]))
    trace = sys.argv[3] == "trace"
    if trace:
        tracemalloc.start()
    steps = []
    started = time.perf_counter()
    with open(sys.argv[2], "wb") as fh:
        report = await ledger_export.write(unit, months.current_month(), fh,
                                           progress=lambda done, total: steps.append(done))
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    print(json.dumps({"seconds": seconds, "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "tracemalloc_peak_mb": peak, "households": steps[-1], "progress_steps": len(steps),
                      "total": report.total.model_dump()}))

asyncio.run(_with_orm(main))
'''


def _script(source: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", source, *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return done.stdout.strip().splitlines()[-1]


async def run() -> Section:
    section = Section(name="visits", title="入户走访: plans and the monthly 台账 export (issue 7)")
    load_before = os.getloadavg()
    async with fresh_pg_database() as db:
        env = server_env(db)
        seeded = json.loads(_script(SEED, env, str(BIG), str(EXPORT)))
        print(f"   seeded {BIG:,} + {EXPORT:,} households, {seeded['big_visits']:,} + {seeded['export_visits']:,} "
              "visits", flush=True)
        tokens, points = seeded["tokens"], seeded["points"]
        plan_rows = {}
        with serving("backend.main:app_factory", factory=True, env=env) as server:
            path = f"/api/v1/visits/plan?lat={points[0][0]}&lng={points[0][1]}"
            first = await asyncio.to_thread(httpx.get, server.url + path,
                                            headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=30)
            assert first.status_code == 200 and first.json()["counts"]["total"] == 100, first.text[:500]
            for concurrency in (1, 4, 16):
                result = await run_load(f"GET /api/v1/visits/plan (100 households), c={concurrency}",
                                        server.url + path, concurrency=concurrency, duration=DURATION,
                                        headers=lambda i: {"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
                plan_rows[concurrency] = result.row()
                print(f"   plan c={concurrency}: {result.rps:.0f} req/s p50 {result.pct(50):.1f} ms "
                      f"p99 {result.pct(99):.1f} ms errors {result.errors}", flush=True)
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"visits-bench-{os.getpid()}.xlsx")
        plain = json.loads(_script(EXPORT_RUN, env, str(seeded["export_id"]), out, "plain"))
        traced = json.loads(_script(EXPORT_RUN, env, str(seeded["export_id"]), out, "trace"))
        size_mb = os.path.getsize(out) / 2**20
        os.unlink(out)
        print(f"   export: {plain['seconds']:.2f}s, peak RSS {plain['rss_peak_mb']:.0f} MB, python peak "
              f"{traced['tracemalloc_peak_mb']:.1f} MB, {size_mb:.1f} MB file", flush=True)
    load_after = os.getloadavg()
    extra = ("seconds", "peak_rss_mb", "python_peak_mb", "file_mb")
    for row in plan_rows.values():
        section.rows.append({**row, **dict.fromkeys(extra)})
    total = plain["total"]
    section.rows.append({**dict.fromkeys(next(iter(plan_rows.values()))), "name": f"台账 export, {EXPORT:,} households",
                         "seconds": round(plain["seconds"], 2), "peak_rss_mb": round(plain["rss_peak_mb"], 1),
                         "python_peak_mb": round(traced["tracemalloc_peak_mb"], 1), "file_mb": round(size_mb, 2)})
    p99 = {c: r["p99_ms"] for c, r in plan_rows.items()}
    section.targets = [
        Target(f"plan of a visitor with 100 households in a community of {BIG:,}: p99 ≤ 30 ms (c=1)",
               f"{p99[1]} ms", p99[1] <= 30),
        Target("the same at 4 concurrent clients", f"{p99[4]} ms", p99[4] <= 30),
        Target(f"台账 export of {EXPORT:,} households ≤ 10 s", f"{plain['seconds']:.2f} s", plain["seconds"] <= 10),
        Target("台账 export peak memory ≤ 300 MB (whole process RSS)", f"{plain['rss_peak_mb']:.0f} MB",
               plain["rss_peak_mb"] <= 300),
    ]
    section.notes = [
        "PostgreSQL 15 and Redis on the same 2-core machine as the server (one uvicorn process, uvloop, pool "
        f"{POOL}) "
        "and the load generator; the machine is shared with other engineers' test runs ("
        f"this run: 1/5/15-minute load average {'/'.join(f'{x:.1f}' for x in load_before)} at the start and "
        f"{'/'.join(f'{x:.1f}' for x in load_after)} at the end), so absolute numbers drift by ±30 %.",
        f"Plan: {seeded['big_visits']:,} visits over the last 60 days in the {BIG:,}-household community, "
        "requests rotate over 100 visitors (each with a session) and send a position (one point in the "
        "community, so distances are computed for every household); at c=16 the "
        "single Python process is saturated and p99 is mostly queueing (see req/s).",
        f"Export: {seeded['export_visits']:,} visits and {total['problems_found']:,} problems this month, one sheet "
        f"per grid (50) plus the summary, {plain['households']:,} household rows, "
        f"{plain['progress_steps']} progress callbacks (the CLI's bar moves after every grid); "
        "openpyxl write-only; RSS is the whole process (interpreter, Tortoise, asyncpg) from getrusage; the "
        "Python-allocation peak comes from a second run under tracemalloc (which slows it, so its time is not "
        "reported).",
    ]
    return section


if __name__ == "__main__":
    asyncio.run(run())
