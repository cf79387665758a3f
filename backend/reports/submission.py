"""PostgreSQL: a report submission as ONE statement (docs/adr/0026).

A submission writes the report, its ``submit`` history row, the outbox timer of its accept clock and the
new-report notice to the handling unit's team (event, inbox rows, WeChat legs and their outbox rows). Written
step by step that was six round trips between the API process and PostgreSQL (``BEGIN``, the report, "who is
the team", the timer, the notice, ``COMMIT``), and each trip costs both processes more CPU than the small
inserts it carries. Here the steps are the data-modifying CTEs of one statement:

- ``r``, ``e``: the report and its history row (``repository.submitted_ctes``);
- ``clock``: the timer, the row ``workflow.schedule`` writes for a new report;
- ``ev`` … ``push``: the notice (``notifications.hotpath.notification_ctes``), whose recipients are the team
  (``notifications.recipients.holders_sql``) minus the filer, and whose link and data carry ``r``'s id.

One statement is atomic by itself, so without photos to attach or an on-behalf filing to audit it runs in
autocommit: one round trip, and the 201 follows its commit. Otherwise it runs in the caller's transaction
with those statements. SQLite keeps the step-by-step path (``workflow.submit`` and ``notices.created``), which
``tests/reports/test_submission.py`` holds row for row to this one.
"""

from __future__ import annotations

import json
from typing import Any

from backend.core import sql
from backend.core.db import on_commit
from backend.core.timeutil import utcnow
from backend.models.notifications import Urgency
from backend.models.reports import Level, Report
from backend.models.user import Role
from backend.notifications import hotpath
from backend.notifications.recipients import holders_sql
from backend.notifications.service import write_rules
from backend.outbox.service import OUTBOX_DEFAULT_ATTEMPTS
from backend.outbox.service import wake as wake_outbox
from backend.reports import notices, repository
from backend.reports.categories import Category
from backend.reports.workflow import CLOCK_EVENT, NEW_REPORT_CONSTANTS, Actor, new_report

# the accept clock's timer: the row ``workflow.schedule(report, new=True)`` writes
_CLOCK = (
    "INSERT INTO outbox_event (kind, payload, dedupe_key, status, run_at, attempts, max_attempts, created_at,"
    f" updated_at) SELECT '{CLOCK_EVENT}', jsonb_build_object('report_id', id, 'version', version, 'clock',"
    f" clock), NULL, 'pending', due_at, 0, {OUTBOX_DEFAULT_ATTEMPTS}, created_at, created_at FROM r"
)
_statements: dict[tuple[Level, bool], tuple[str, sql.Holes]] = {}


def _statement(level: Level, wechat_leg: bool) -> tuple[str, sql.Holes]:
    """The statement for a report handled at ``level`` (its team is a different query per level). What is the
    same for every new report is written as literals, and a value used twice is one placeholder: fewer
    parameters for asyncpg to encode and PostgreSQL to bind."""
    built = _statements.get((level, wechat_leg))
    if built is None:
        h = sql.Holes()
        report = {c: sql.literal(v) for c, v in NEW_REPORT_CONSTANTS.items()} | {
            "level": sql.literal(level), "updated_at": h("created_at"), "response_due_at": h("due_at"),
        }
        _, column = notices.LEVEL_UNIT[level]
        roles = ", ".join(sql.literal(Role(r)) for r in sorted(notices.LEVEL_ROLES[level], key=str))
        team = holders_sql(roles, f"u.{column} = {h('unit')}::bigint")
        others = f"SELECT user_id FROM ({team}) t WHERE user_id <> {h('actor')}::bigint"
        rules = write_rules(notices.CREATED, Urgency.NORMAL, utcnow())
        built = _statements[(level, wechat_leg)] = (
            f"WITH {repository.submitted_ctes(h, report)}, clock AS ({_CLOCK}), "
            f"team AS (SELECT ARRAY({others}) AS ids), "
            + hotpath.notification_ctes(
                h,
                recipients="(SELECT ids FROM team)::bigint[]",
                link=f"{sql.literal(notices.LINK)} || (SELECT id FROM r)",
                data=f"{h('data')}::jsonb || jsonb_build_object('report_id', (SELECT id FROM r))",
                kind=sql.literal(notices.CREATED),
                urgency=sql.literal(Urgency.NORMAL),
                dedupe="NULL::text",
                actor=f"{h('actor')}::bigint",
                now=f"{h('created_at')}::timestamptz",
                may_be_silent=sql.literal(rules["may_be_silent"]),
                wechat_leg=sql.literal(wechat_leg),
                wechat_attempts=sql.literal(hotpath.WECHAT_ATTEMPTS),
                push_attempts=sql.literal(hotpath.PUSH_ATTEMPTS),
            )
            + "\nSELECT id FROM r",
            h,
        )
    return built


async def submit(
    fields: dict[str, Any], *, category: Category, level: Level, actor: Actor, data: dict[str, Any] | None
) -> Report:
    """File the report and everything that goes with it in one statement (in the caller's transaction, if
    any). The filer (``actor.user_id``: the resident, or staff on their behalf) is the notice's actor and is
    left out of its recipients, as ``notices.created`` does."""
    values, history = new_report(fields, category=category, level=level, data=data)
    notice = notices.created_notice(category.code, level, values["description"])
    rules = write_rules(notices.CREATED, Urgency.NORMAL, values["created_at"])
    statement, holes = _statement(level, rules["wechat_leg"])
    given = repository.submitted_params(
        holes, values, actor_id=actor.user_id, on_behalf_of_id=actor.on_behalf_of, data=history
    ) | {
        "unit": values[notices.LEVEL_UNIT[level][1]],
        "title": notice.title,
        "body": notice.body,
        "data": json.dumps(notice.data, ensure_ascii=False, separators=(",", ":")),
        "minute": rules["minute"],
    }
    async with sql.write_slot():
        rows = await sql.rows(statement, *holes.values(given))
    on_commit(wake_outbox)  # the notice's push is due now: a hint for the workers, after the commit
    return sql.as_stored(Report, {**values, "id": rows[0][0]})
