"""Jinlin's report states as the spec's two: ``open`` (it has been reported) and ``closed`` (it has been
resolved). Waiting, being handled and waiting for the reporter's answer are open; resolved (办结, waiting for
the rating), closed, withdrawn and merged are closed. A resolved report rated 1–2 is reopened: open again."""

from __future__ import annotations

from backend.models.reports import OPEN_STATUSES, ReportStatus

OPEN, CLOSED = "open", "closed"
JINLIN_STATUSES: dict[str, tuple[ReportStatus, ...]] = {
    OPEN: tuple(OPEN_STATUSES),
    CLOSED: tuple(s for s in ReportStatus if s not in OPEN_STATUSES),
}


def open311_status(status: ReportStatus | str) -> str:
    return OPEN if ReportStatus(status) in OPEN_STATUSES else CLOSED
