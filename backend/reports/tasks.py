"""Outbox handlers of the reports domain: the per-report clocks, the departments' whistle clocks, and the
monthly publication of the board (晒)."""

from __future__ import annotations

from datetime import timedelta

from backend.models.outbox import OutboxEvent
from backend.outbox.registry import handler, periodic
from backend.reports import board, service, whistles, workflow

periodic("reports.publish_boards", every=timedelta(hours=1))


@handler(workflow.CLOCK_EVENT)
async def report_clock(event: OutboxEvent) -> None:
    """Accept / resolve / auto-close clock of one report version (a no-op once the report moved on)."""
    p = event.payload
    await service.on_clock(int(p["report_id"]), int(p["version"]), str(p["clock"]))


@handler(whistles.CLOCK_EVENT)
async def whistle_clock(event: OutboxEvent) -> None:
    """A summoned department's 报到 or completion deadline (marks it late once)."""
    await whistles.on_clock(int(event.payload["target_id"]), str(event.payload["clock"]))


@handler("reports.publish_boards")
async def publish_boards(event: OutboxEvent) -> None:
    """Freeze last month's board of every community that has not been published yet (idempotent)."""
    await board.publish_month(board.previous_month())
