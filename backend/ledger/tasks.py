"""Outbox jobs of the ledger. Both run daily and are idempotent through their transfers' keys: the monthly
allowance pays each household once per month whichever day (and however often) it runs, so a household that
becomes eligible mid-month is paid that month, and a day the worker was down costs nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

from backend.ledger import jobs
from backend.models.outbox import OutboxEvent
from backend.outbox.registry import handler, periodic

log = logging.getLogger(__name__)

periodic("ledger.monthly_allowance", every=timedelta(days=1))
periodic("ledger.expire_hours", every=timedelta(days=1))


@handler("ledger.monthly_allowance")
async def monthly_allowance(event: OutboxEvent) -> None:
    """Pay this month's 关爱积分 to eligible households (高龄/空巢/残疾/低保/困难, per community rules)."""
    report = await jobs.pay_monthly_allowances(event.payload.get("month"))
    log.info("allowances %s: paid %s households (%s points), %s already paid, %s without a resident",
             report.month, report.paid, report.points, report.already_paid, report.no_resident)


@handler("ledger.expire_hours")
async def expire_hours(event: OutboxEvent) -> None:
    """Expire unspent hours older than the community's expiry (only where a community turned it on)."""
    log.info("expired old hours on %s accounts", await jobs.expire_hours())
