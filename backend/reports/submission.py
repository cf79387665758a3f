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
from backend.reports.workflow import CLOCK_EVENT, Actor, new_report

# the accept clock's timer: the row ``workflow.schedule(report, new=True)`` writes
_CLOCK = (
    "INSERT INTO outbox_event (kind, payload, dedupe_key, status, run_at, attempts, max_attempts, created_at,"
    f" updated_at) SELECT '{CLOCK_EVENT}', jsonb_build_object('report_id', id, 'version', version, 'clock',"
    " clock), NULL, 'pending', due_at, 0,"
)
_statements: dict[Level, tuple[str, sql.Holes]] = {}


def _statement(level: Level) -> tuple[str, sql.Holes]:
    """The statement for a report handled at ``level`` (its team is a different query per level)."""
    built = _statements.get(level)
    if built is None:
        h = sql.Holes()
        _, column = notices.LEVEL_UNIT[level]
        roles = ", ".join(f"'{Role(r).value}'" for r in sorted(notices.LEVEL_ROLES[level], key=str))
        team = holders_sql(roles, f"u.{column} = {h('unit')}::bigint")
        others = f"SELECT user_id FROM ({team}) t WHERE user_id <> {h('filer')}::bigint"
        team = f"team AS (SELECT ARRAY({others}) AS ids)"
        built = _statements[level] = (
            f"WITH {repository.submitted_ctes(h)}, "
            f"clock AS ({_CLOCK} {h('clock_attempts')}::int, created_at, created_at FROM r), {team}, "
            + hotpath.notification_ctes(
                h,
                recipients="(SELECT ids FROM team)::bigint[]",
                link=f"{h('link')}::text || (SELECT id FROM r)",
                data=f"{h('data')}::jsonb || jsonb_build_object('report_id', (SELECT id FROM r))",
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
    now = values["created_at"]
    statement, holes = _statement(level)
    given = repository.submitted_params(
        values, actor_id=actor.user_id, on_behalf_of_id=actor.on_behalf_of, data=history
    ) | {
        "clock_attempts": OUTBOX_DEFAULT_ATTEMPTS,
        "unit": values[notices.LEVEL_UNIT[level][1]],
        "filer": actor.user_id,
        "kind": notices.CREATED,
        "title": notice.title,
        "body": notice.body,
        "link": notices.LINK,
        "urgency": Urgency.NORMAL.value,
        "data": json.dumps(notice.data, ensure_ascii=False, separators=(",", ":")),
        "dedupe": None,
        "now": now,
        "wechat_attempts": hotpath.WECHAT_ATTEMPTS,
        "push_attempts": hotpath.PUSH_ATTEMPTS,
        **write_rules(notices.CREATED, Urgency.NORMAL, now),
    }
    rows = await sql.rows(statement, *holes.values(given))
    on_commit(wake_outbox)  # the notice's push is due now: a hint for the workers, after the commit
    return sql.as_stored(Report, {**values, "id": rows[0][0]})
