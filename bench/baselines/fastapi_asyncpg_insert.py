"""Baseline: the same single-row INSERT through raw asyncpg, served by FastAPI with a pydantic body.

FastAPI is fixed by the design, so this is the fair ceiling for a Jinlin write: what is left between it and
Jinlin is our own cost (authentication, ORM, outbox, middleware)."""

import os
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from pydantic import BaseModel, Field

DSN = os.environ["BASELINE_DSN"].replace("postgres://", "postgresql://", 1)
POOL_SIZE = int(os.environ.get("BASELINE_POOL", "20"))
state: dict = {}


@asynccontextmanager
async def lifespan(app):  # type: ignore[no-untyped-def]
    state["pool"] = pool = await asyncpg.create_pool(DSN, min_size=1, max_size=POOL_SIZE)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS baseline_row (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL,"
            " created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=200)


@app.post("/insert", status_code=201)
async def insert(note: Note) -> dict:
    row_id = await state["pool"].fetchval("INSERT INTO baseline_row (body) VALUES ($1) RETURNING id", note.text)
    return {"id": row_id}


@app.get("/healthz")
async def health() -> dict:
    return {"status": "ok"}
