"""Jinlin with one extra, bench-only route: an authenticated write that touches one table and the outbox.

The foundation has no product route of exactly that shape yet (domain routes arrive with their issues and are
benchmarked there); this route goes through the same stack as every product write — middleware, JWT + session +
grants lookup, pydantic body, one transaction with an audit row (``audit.record``, the helper product writes
use) and an outbox event — so its cost is the platform's."""

from __future__ import annotations

from fastapi import Body
from pydantic import BaseModel, Field

from backend.auth.dependencies import CurrentUser
from backend.core import audit
from backend.core.db import atomic
from backend.main import create_app
from backend.outbox import service as outbox


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=200)


def factory():  # type: ignore[no-untyped-def]
    app = create_app()

    @app.post("/bench/write", status_code=201)
    async def bench_write(principal: CurrentUser, note: Note = Body(...)) -> dict:  # noqa: B008
        async with atomic():
            audit_id = await audit.record("bench:write", actor_id=principal.id, object_type="bench",
                                          detail={"text": note.text})
            await outbox.enqueue("bench.noop", {"audit_id": audit_id})
        return {"id": audit_id}

    return app
