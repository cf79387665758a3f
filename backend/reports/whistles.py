"""吹哨报到: community or street staff summon departments to a report; each department must report in (报到)
within ``whistle_ack_hours`` of the taxonomy and finish by the deadline, posting progress on the report's
timeline. Two timers per department (outbox events); each marks the department late at most once, by a
conditional UPDATE on the target's state, and notifies it and the whistle-blower."""

from __future__ import annotations

from datetime import timedelta

from backend.auth.principal import Principal
from backend.core.db import atomic
from backend.core.errors import InvalidTransition
from backend.core.timeutil import utcnow
from backend.media import service as media
from backend.models.org import Department
from backend.models.reports import OPEN_STATUSES, Report, ReportStatus, Whistle, WhistleStatus, WhistleTarget
from backend.models.user import Role
from backend.org.scope import scope_of
from backend.outbox import service as outbox
from backend.reports import access, notices, repository, workflow
from backend.reports.categories import taxonomy
from backend.reports.exceptions import BadTarget, NotCommunityStaff, NotDepartment
from backend.reports.retry import retry_transient
from backend.reports.schemas import ProgressIn, WhistleIn, WhistleOut, WhistleTargetOut

CLOCK_EVENT = "reports.whistle_clock"
MEDIA_OWNER = "report"


@retry_transient
async def blow(principal: Principal, report: Report, body: WhistleIn) -> Whistle:
    """Summon departments (those serving the report's street) with a deadline."""
    if not access.in_community_scope(principal, report):
        raise NotCommunityStaff("只有社区或街道工作人员可以吹哨")
    if ReportStatus(report.status) not in OPEN_STATUSES:
        raise InvalidTransition("上报已办结或关闭，不能再吹哨", detail={"status": report.status})
    departments = await Department.filter(id__in=body.department_ids)
    serving = {d.id for d in departments if d.street_id == report.street_id}
    missing = [i for i in body.department_ids if i not in serving]
    if missing:
        raise BadTarget("所选部门不服务于该街道", detail={"loc": "body.department_ids", "ids": missing})
    now = utcnow()
    deadline = now + timedelta(hours=body.deadline_hours)
    ack_due = min(now + taxonomy().whistle_ack, deadline)
    actor = workflow.Actor(principal.id)
    async with atomic():
        whistle = await Whistle.create(
            report_id=report.id, blown_by_id=principal.id, note=body.note, deadline=deadline
        )
        targets = [
            await WhistleTarget.create(
                whistle_id=whistle.id,
                report_id=report.id,
                department_id=d,
                ack_due_at=ack_due,
                deadline=deadline,
            )
            for d in body.department_ids
        ]
        for target in targets:
            await outbox.enqueue(
                CLOCK_EVENT,
                {"target_id": target.id, "clock": "ack"},
                run_at=ack_due,
                dedupe_key=f"{CLOCK_EVENT}:{target.id}:ack",
            )
            await outbox.enqueue(
                CLOCK_EVENT,
                {"target_id": target.id, "clock": "deadline"},
                run_at=deadline,
                dedupe_key=f"{CLOCK_EVENT}:{target.id}:deadline",
            )
        await workflow.event(
            report,
            "whistle",
            actor=actor,
            note=body.note,
            data={
                "whistle_id": whistle.id,
                "department_ids": body.department_ids,
                "deadline": deadline.isoformat(),
            },
        )
        await notices.whistled(report, targets, actor_id=principal.id, note=body.note)
    return whistle


def _department_actor(principal: Principal, target: WhistleTarget) -> workflow.Actor:
    if not scope_of(principal, (Role.DEPARTMENT_STAFF, Role.ADMIN)).covers_department(target.department_id):
        raise NotDepartment()
    return workflow.Actor(principal.id)


@retry_transient
async def acknowledge(principal: Principal, target: WhistleTarget) -> WhistleTarget:
    """报到: the department takes the summons (once)."""
    actor = _department_actor(principal, target)
    now = utcnow()
    async with atomic():
        won = await WhistleTarget.filter(id=target.id, status=WhistleStatus.SUMMONED).update(
            status=WhistleStatus.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by_id=principal.id
        )
        if not won:
            raise InvalidTransition("该部门已经报到过了", detail={"status": target.status})
        report = await Report.get(id=target.report_id)
        await workflow.event(
            report,
            "whistle_ack",
            actor=actor,
            data={"department_id": target.department_id, "target_id": target.id},
        )
    await target.refresh_from_db()
    return target


@retry_transient
async def progress(principal: Principal, target: WhistleTarget, body: ProgressIn) -> WhistleTarget:
    """A department's progress note (报到 implied if it had not yet); ``done`` finishes its part."""
    actor = _department_actor(principal, target)
    if WhistleStatus(target.status) is WhistleStatus.DONE:
        raise InvalidTransition("该部门的任务已经完成", detail={"status": target.status})
    now = utcnow()
    changes: dict = {"last_progress_at": now}
    if WhistleStatus(target.status) is WhistleStatus.SUMMONED:
        changes.update(
            acknowledged_at=now, acknowledged_by_id=principal.id, status=WhistleStatus.ACKNOWLEDGED
        )
    if body.done:
        changes.update(status=WhistleStatus.DONE, done_at=now)
    async with atomic():
        won = await WhistleTarget.filter(id=target.id, status=target.status).update(**changes)
        if not won:
            raise InvalidTransition("该吹哨任务刚被更新，请刷新后再试")
        report = await Report.get(id=target.report_id)
        await media.attach(
            body.photo_ids, uploader_id=principal.id, owner_type=MEDIA_OWNER, owner_id=report.id
        )
        await workflow.event(
            report,
            "whistle_progress",
            actor=actor,
            note=body.note,
            data={
                "department_id": target.department_id,
                "target_id": target.id,
                "done": body.done,
                "photo_ids": list(body.photo_ids),
            },
        )
    await target.refresh_from_db()
    return target


async def on_clock(target_id: int, clock: str) -> str:
    """A department's clock ran out: mark it late once (conditional UPDATE) and tell it and the blower. Once the
    report itself is resolved or closed, a summons still open is moot and nobody is marked late."""
    target = await WhistleTarget.get_or_none(id=target_id).select_related("whistle")
    if target is None:
        return "stale"
    if not await Report.filter(id=target.report_id, status__in=list(OPEN_STATUSES)).exists():
        return "moot"
    if clock == "ack":
        query = WhistleTarget.filter(id=target.id, status=WhistleStatus.SUMMONED, late_ack=False)
        change = {"late_ack": True}
    else:
        query = WhistleTarget.filter(
            id=target.id, late=False, status__in=[WhistleStatus.SUMMONED, WhistleStatus.ACKNOWLEDGED]
        )
        change = {"late": True}
    async with atomic():
        if not await query.update(**change):
            return "stale"
        report = await Report.get(id=target.report_id)
        await workflow.event(
            report,
            "whistle_late",
            actor=workflow.SYSTEM,
            public=False,
            data={"department_id": target.department_id, "target_id": target.id, "clock": clock},
        )
        await notices.whistle_late(report, target, clock=clock, blown_by_id=target.whistle.blown_by_id)
    return "late"


# ------------------------------------------------------------------------------------------------ views


async def target_out(targets: list[WhistleTarget]) -> list[WhistleTargetOut]:
    names = await repository.department_names(t.department_id for t in targets)
    return [
        WhistleTargetOut(
            id=t.id,
            report_id=t.report_id,
            department_id=t.department_id,
            department_name=names.get(t.department_id, ""),
            status=t.status,
            status_label=WhistleStatus(t.status).label,
            ack_due_at=t.ack_due_at,
            deadline=t.deadline,
            acknowledged_at=t.acknowledged_at,
            done_at=t.done_at,
            late_ack=t.late_ack,
            late=t.late,
            last_progress_at=t.last_progress_at,
        )
        for t in targets
    ]


async def whistles_out(report: Report) -> list[WhistleOut]:
    out = []
    for whistle in await repository.whistles_of(report.id):
        targets = sorted(whistle.targets, key=lambda t: t.id)
        out.append(
            WhistleOut(
                id=whistle.id,
                report_id=report.id,
                note=whistle.note,
                deadline=whistle.deadline,
                created_at=whistle.created_at,
                targets=await target_out(targets),
            )
        )
    return out
