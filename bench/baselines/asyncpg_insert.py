"""Baseline: one single-row INSERT per request through a raw asyncpg pool (no ORM, no auth, no JSON body)."""

import os
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

DSN = os.environ["BASELINE_DSN"].replace("postgres://", "postgresql://", 1)
POOL_SIZE = int(os.environ.get("BASELINE_POOL", "20"))
pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(app):  # type: ignore[no-untyped-def]
    global pool
    pool = await asyncpg.create_pool(DSN, min_size=1, max_size=POOL_SIZE)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS baseline_row (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL,"
            " created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    yield
    await pool.close()


async def insert(request):  # type: ignore[no-untyped-def]
    assert pool is not None
    row_id = await pool.fetchval("INSERT INTO baseline_row (body) VALUES ($1) RETURNING id", "x")
    return JSONResponse({"id": row_id}, status_code=201)


async def health(request):  # type: ignore[no-untyped-def]
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/insert", insert, methods=["POST"]), Route("/healthz", health)], lifespan=lifespan)
