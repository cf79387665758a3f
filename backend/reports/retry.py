"""Run a write again when PostgreSQL aborted its transaction to break a deadlock (or a serialisation failure).

Such an abort is transient by nature: the whole transaction was rolled back, so running the unit of work again
is safe. It happens in practice when many notices go at once to people who never had one yet (the notifications
domain creates their inbox-state rows and locks them in the same transaction). The objects the caller loaded
(a report, a whistle target, a deliberation) are re-read first: the failed attempt may have changed them in
memory. After the last attempt the caller gets 409 ``TryAgain``; nothing was written.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asyncpg.exceptions import TransactionRollbackError
from tortoise.models import Model

from backend.reports.exceptions import TryAgain

log = logging.getLogger(__name__)
ATTEMPTS = 4
T = TypeVar("T")


async def _reload(args: tuple[Any, ...]) -> None:
    for arg in args:
        if isinstance(arg, Model) and arg.pk is not None:
            await arg.refresh_from_db()
            related = getattr(arg, "_report", None) or arg.__dict__.get("report")
            if isinstance(related, Model):
                await related.refresh_from_db()


def retry_transient(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Decorate a service write whose transaction may be chosen as a deadlock victim."""

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await fn(*args, **kwargs)
            except TransactionRollbackError as exc:
                if attempt == ATTEMPTS:
                    log.warning("%s: transaction aborted %d times, giving up: %s", fn.__name__, attempt, exc)
                    raise TryAgain() from exc
                log.info("%s: transaction aborted (%s), attempt %d of %d", fn.__name__, exc, attempt, ATTEMPTS)
                await asyncio.sleep(random.uniform(0.005, 0.03) * attempt)
                await _reload(args)
        raise AssertionError("unreachable")

    return run
