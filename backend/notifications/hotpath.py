"""Hand-written SQL of the inbox's hot paths (docs/adr/0020): writing a notification, and the horizon.

**Writing.** ``write_notification`` stores an event, one inbox row per active recipient (muting and quiet hours
decided in SQL), the WeChat legs and the outbox rows that push them. On PostgreSQL that is ONE statement
(data-modifying CTEs), in the caller's transaction, taking no row lock: the only lock is a shared advisory lock
(``inbox_hold()``), which never waits for another writer. On SQLite it is five short statements (no network,
and SQLite admits one writer at a time anyway).

**The horizon.** Inbox ids come from a sequence, so two transactions can commit their rows out of id order: a
reader that saw id 100 may later find 99. ``horizon()`` returns the highest id H such that every id ≤ H is
final — committed, or rolled back and never to appear. Writers hold ``inbox_hold()``'s lock (keyed by the
sequence position *before* they draw ids) until they commit; ``inbox_horizon()`` reads the sequence position,
then the lowest key still held. Reading "after my cursor, up to H" therefore never skips a row that commits
later, and a reader that sent id X never meets a new id below X. Call ``horizon()`` in its own statement and
read rows afterwards (a later statement sees every commit that released a lock before it).
On SQLite every committed id is final (ids are drawn under the one write lock): ``horizon()`` is None.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from backend.core import sql
from backend.core.db import atomic
from backend.models.notifications import Urgency

PUSH = "notifications.push"
WECHAT = "notifications.wechat"
WECHAT_ATTEMPTS = 8
# A push waits for the horizon (a few ms normally). Each attempt waits up to HOLD_WAIT_SECONDS and then yields
# the worker; 240 attempts cover a transaction left open for several minutes before the push is dead-lettered.
PUSH_ATTEMPTS = 240


@dataclass(frozen=True)
class Written:
    event_id: int
    items: dict[int, int]  # user id -> inbox item id


# ------------------------------------------------------------------------------------------------ writing

_TYPES = {
    "kind": "text", "title": "text", "body": "text", "link": "text", "urgency": "text", "data": "jsonb",
    "dedupe": "text", "actor": "bigint", "now": "timestamptz", "recipients": "bigint[]",
    "may_be_silent": "boolean", "minute": "int", "wechat_leg": "boolean", "wechat_attempts": "int",
    "push_attempts": "int",
}


def notification_ctes(holes: sql.Holes, **given: str) -> str:
    """The CTEs ``ev, items, legs, sends, push`` of the PostgreSQL write (no ``WITH``), with placeholders from
    ``holes``: kind, title, body, link, urgency, data (JSON), dedupe, actor, now, recipients, may_be_silent,
    minute (of the Beijing day), wechat_leg, wechat_attempts, push_attempts.

    Another module's statement can put these CTEs after its own and pass SQL for any of them instead (by the
    same name): an expression over its own CTEs (the new row's id in ``link``), or a placeholder or literal it
    already has, so that a change and its notice are one statement (``backend/reports/submission.py``)."""

    def p(name: str) -> str:
        return given.get(name) or f"{holes(name)}::{_TYPES[name]}"

    kind, urgency, now, minute, recipients = p("kind"), p("urgency"), p("now"), p("minute"), p("recipients")
    # A caller that knows there is no WeChat leg (``wechat_leg`` given as the literal FALSE) gets no ``legs``
    # and ``sends`` at all: even with a false condition, PostgreSQL would open both tables and their indexes
    # and set up their foreign-key checks on every execution.
    wechat = "" if given.get("wechat_leg") == sql.literal(False) else f"""), legs AS (
    INSERT INTO wechat_delivery (item_id, user_id, urgency, status, attempts, created_at, updated_at)
    SELECT id, user_id, {urgency}, 'pending', 0, {now}, {now}
      FROM items WHERE {p('wechat_leg')} AND NOT silent ORDER BY id
    RETURNING id
), sends AS (
    INSERT INTO outbox_event (kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at)
    SELECT '{WECHAT}', jsonb_build_object('delivery_id', id), 'pending', {now}, 0,
           {p('wechat_attempts')}, {now}, {now}
      FROM legs ORDER BY id"""
    return f"""ev AS (
    INSERT INTO notification_event (kind, title, body, link, urgency, data, dedupe_key, actor_id, created_at)
    SELECT {kind}, {p('title')}, {p('body')}, {p('link')}, {urgency}, {p('data')}, {p('dedupe')},
           {p('actor')}, {now}
     WHERE EXISTS (SELECT 1 FROM app_user WHERE id = ANY({recipients}) AND is_active)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, inbox_hold() AS held  -- before any inbox id of this event is drawn (items reads ev first)
), items AS (
    INSERT INTO inbox_item (user_id, event_id, kind, urgency, silent, created_at)
    SELECT u.id, ev.id, {kind}, {urgency},
           CASE WHEN NOT {p('may_be_silent')} OR p.id IS NULL THEN FALSE
                ELSE p.muted_kinds ? {kind}
                     OR (p.quiet_start IS NOT NULL AND p.quiet_end IS NOT NULL AND
                         CASE WHEN p.quiet_start < p.quiet_end
                              THEN {minute} >= p.quiet_start AND {minute} < p.quiet_end
                              ELSE {minute} >= p.quiet_start OR {minute} < p.quiet_end END)
           END,
           {now}
      FROM ev CROSS JOIN app_user u LEFT JOIN notification_preference p ON p.user_id = u.id
     WHERE u.id = ANY({recipients}) AND u.is_active
     ORDER BY u.id
    RETURNING id, user_id, silent
{wechat}), push AS (
    INSERT INTO outbox_event (kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at)
    SELECT '{PUSH}', jsonb_build_object('event_id', id), 'pending', {now}, 0, {p('push_attempts')},
           {now}, {now}
      FROM ev
)"""


_PG_HOLES = sql.Holes()
_PG_WRITE = (
    f"WITH {notification_ctes(_PG_HOLES)}\n"
    "SELECT items.id, items.user_id, ev.id AS event_id FROM items CROSS JOIN ev"
)

# SQLite: numbered parameters (?1 …) so a value can be used twice; no ``$`` (backend/core/sql.py leaves it be).
_LITE_EVENT = """
INSERT INTO notification_event (kind, title, body, link, urgency, data, dedupe_key, actor_id, created_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
 WHERE EXISTS (SELECT 1 FROM app_user WHERE id IN (SELECT value FROM json_each(?10)) AND is_active)
ON CONFLICT DO NOTHING
RETURNING id
"""
_LITE_ITEMS = """
INSERT INTO inbox_item (user_id, event_id, kind, urgency, silent, created_at)
SELECT u.id, ?1, ?2, ?3,
       CASE WHEN NOT ?4 OR p.id IS NULL THEN 0
            ELSE EXISTS (SELECT 1 FROM json_each(p.muted_kinds) WHERE value = ?2)
                 OR (p.quiet_start IS NOT NULL AND p.quiet_end IS NOT NULL AND
                     CASE WHEN p.quiet_start < p.quiet_end THEN ?5 >= p.quiet_start AND ?5 < p.quiet_end
                          ELSE ?5 >= p.quiet_start OR ?5 < p.quiet_end END)
       END,
       ?6
  FROM app_user u LEFT JOIN notification_preference p ON p.user_id = u.id
 WHERE u.id IN (SELECT value FROM json_each(?7)) AND u.is_active
 ORDER BY u.id
RETURNING id, user_id
"""
_LITE_LEGS = """
INSERT INTO wechat_delivery (item_id, user_id, urgency, status, attempts, created_at, updated_at)
SELECT id, user_id, ?1, 'pending', 0, ?2, ?2 FROM inbox_item WHERE event_id = ?3 AND silent = 0 ORDER BY id
"""
_LITE_SENDS = """
INSERT INTO outbox_event (kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at)
SELECT 'notifications.wechat', json_object('delivery_id', d.id), 'pending', ?1, 0, ?2, ?1, ?1
  FROM wechat_delivery d JOIN inbox_item i ON i.id = d.item_id WHERE i.event_id = ?3 ORDER BY d.id
"""
_LITE_PUSH = """
INSERT INTO outbox_event (kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at)
VALUES ('notifications.push', json_object('event_id', ?1), 'pending', ?2, 0, ?3, ?2, ?2)
"""


async def write_notification(
    *,
    kind: str,
    title: str,
    body: str,
    link: str | None,
    urgency: Urgency,
    data: dict,
    dedupe_key: str | None,
    actor_id: int | None,
    recipients: Sequence[int],
    now: datetime,
    may_be_silent: bool,
    minute: int,
    wechat_leg: bool,
) -> Written | None:
    """Write the event, its inbox rows, WeChat legs and outbox rows in the current transaction; None when the
    dedupe key was taken or no recipient is active (then nothing is written)."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if not sql.is_sqlite():
        rows = await sql.fetch(_PG_WRITE, *_PG_HOLES.values(dict(
            kind=kind, title=title, body=body, link=link, urgency=urgency.value, data=payload,
            dedupe=dedupe_key, actor=actor_id, now=now, recipients=list(recipients),
            may_be_silent=may_be_silent, minute=minute,
            wechat_leg=wechat_leg, wechat_attempts=WECHAT_ATTEMPTS, push_attempts=PUSH_ATTEMPTS,
        )))
        if not rows:
            return None
        return Written(event_id=rows[0]["event_id"], items={r["user_id"]: r["id"] for r in rows})
    people = json.dumps(list(recipients))
    async with atomic():
        event = await sql.fetch(
            _LITE_EVENT, kind, title, body, link, urgency.value, payload, dedupe_key, actor_id, now, people
        )
        if not event:
            return None
        event_id = event[0]["id"]
        rows = await sql.fetch(_LITE_ITEMS, event_id, kind, urgency.value, may_be_silent, minute, now, people)
        if wechat_leg:
            await sql.execute(_LITE_LEGS, urgency.value, now, event_id)
            await sql.execute(_LITE_SENDS, now, WECHAT_ATTEMPTS, event_id)
        await sql.execute(_LITE_PUSH, event_id, now, PUSH_ATTEMPTS)
    return Written(event_id=event_id, items={r["user_id"]: r["id"] for r in rows})


# ------------------------------------------------------------------------------------------------ the horizon


async def horizon() -> int | None:
    """Every inbox id ≤ the answer is final (None: every committed id is, as on SQLite). Its own statement:
    read rows in a later one."""
    if sql.is_sqlite():
        return None
    rows = await sql.fetch("SELECT inbox_horizon() AS h")
    return int(rows[0]["h"] or 0)


async def wait_until_final(item_id: int, *, timeout: float) -> bool:
    """Wait (polling, a few ms at a time) until ``item_id`` is at or below the horizon; False on timeout."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        upto = await horizon()
        if upto is None or upto >= item_id:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.02)


_PREVIOUS = """
SELECT i.id, (SELECT MAX(p.id) FROM inbox_item p WHERE p.user_id = i.user_id AND p.id < i.id) AS prev
  FROM inbox_item i WHERE i.event_id = $1
"""


async def previous_ids(event_id: int) -> dict[int, int | None]:
    """For each item of the event, the same user's previous item id: the ``prev`` a socket compares with the
    last id it sent. Only meaningful once the event's items are below the horizon (then it never changes)."""
    return {r["id"]: r["prev"] for r in await sql.fetch(_PREVIOUS, event_id)}
