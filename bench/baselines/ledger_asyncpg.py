"""Baseline for the ledger: a JSON body in, one two-row INSERT in one transaction through a raw asyncpg pool, JSON
out. No ORM, no auth, no balance update, no validation: the ceiling a posting endpoint can be compared with."""

import json
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
            "CREATE TABLE IF NOT EXISTS baseline_entry (id BIGSERIAL PRIMARY KEY, transfer_key TEXT NOT NULL,"
            " account_id BIGINT NOT NULL, amount BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    yield
    await pool.close()


async def transfer(request):  # type: ignore[no-untyped-def]
    assert pool is not None
    body = json.loads(await request.body())
    amount = int(body["amount"])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO baseline_entry (transfer_key, account_id, amount) VALUES ($1, $2, $3), ($1, $4, $5)",
            body["key"], int(body["from"]), -amount, int(body["to"]), amount,
        )
    return JSONResponse({"key": body["key"], "amount": amount}, status_code=201)


async def health(request):  # type: ignore[no-untyped-def]
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/transfer", transfer, methods=["POST"]), Route("/healthz", health)], lifespan=lifespan)
