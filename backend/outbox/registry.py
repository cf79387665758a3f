"""What the outbox can do: event handlers by kind, and periodic jobs.

Domains register in their ``tasks.py`` with ``@handler("kind")`` and ``@periodic("kind", every=...)``;
``load_all()`` imports every ``backend.<domain>.tasks`` module so a worker knows every kind.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.models.outbox import OutboxEvent

Handler = Callable[["OutboxEvent"], Awaitable[None]]

_handlers: dict[str, Handler] = {}


class Retry(Exception):
    """Raise from a handler to try again later (after ``delay`` seconds, or the usual backoff)."""

    def __init__(self, reason: str, *, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class GiveUp(Exception):
    """Raise from a handler when retrying cannot help: the event goes straight to ``dead``."""


@dataclass(frozen=True)
class PeriodicJob:
    kind: str
    every: timedelta
    payload: dict

    def slot(self, now: datetime) -> datetime:
        """The start of the period ``now`` falls in (periods are aligned to the Unix epoch, in UTC)."""
        seconds = int(self.every.total_seconds())
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


_periodic: dict[str, PeriodicJob] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if kind in _handlers and _handlers[kind] is not fn:
            raise RuntimeError(f"two outbox handlers for {kind!r}")
        _handlers[kind] = fn
        return fn

    return register


def periodic(kind: str, *, every: timedelta, payload: dict | None = None) -> None:
    """Enqueue ``kind`` once per period; a handler for ``kind`` must be registered too."""
    _periodic[kind] = PeriodicJob(kind=kind, every=every, payload=payload or {})


def get_handler(kind: str) -> Handler | None:
    return _handlers.get(kind)


def periodic_jobs() -> list[PeriodicJob]:
    return list(_periodic.values())


def task_modules() -> list[str]:
    """Every ``backend.<domain>.tasks`` module, in a stable order."""
    import pkgutil

    import backend

    return [
        f"backend.{m.name}.tasks"
        for m in sorted(pkgutil.iter_modules(backend.__path__), key=lambda m: m.name)
        if m.ispkg and importlib.util.find_spec(f"backend.{m.name}.tasks") is not None
    ]


def load_all() -> None:
    for module in task_modules():
        importlib.import_module(module)
