"""/api/v1/tasks: asking for help, the volunteer's task hall (offers near me, with distance), accept, and the
steps of a task; staff views, mass tasks in an emergency and the community's list of help kinds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.auth.dependencies import CommunityStaff, CurrentUser
from backend.core.deps import SettingsDep
from backend.core.errors import InvalidTransition, NotFound, responses
from backend.core.pagination import CursorParam, LimitParam, Page, decode_cursor, encode_cursor
from backend.media.exceptions import MediaNotUsable
from backend.models.org import Household, OrgLevel, OrgUnit
from backend.models.tasks import HelpKind, TaskEvent, TaskStatus
from backend.org.scope import scope_of
from backend.store.dependencies import resident_for
from backend.store.exceptions import OrderNotCancellable
from backend.store.places import household_of, member_scope, place_of
from backend.tasks import enums, fulfilment, repository, service, views
from backend.tasks.dependencies import (
    FamilyOrStaffTask,
    KeeperTask,
    StaffTask,
    TaskStaff,
    VisibleTask,
    VolunteerTask,
    is_family,
    staff,
)
from backend.tasks.exceptions import (
    NoLocation,
    OfferWithdrawn,
    TaskAlreadyClaimed,
    TaskCancelled,
    TaskNotFound,
    TooManyActiveTasks,
    UnknownHelpKind,
)
from backend.tasks.schemas import (
    BatchIn,
    BatchOut,
    DeliverIn,
    HelpKindOut,
    HelpKindsIn,
    HelpRequestIn,
    OfferToIn,
    ReasonIn,
    TaskEventOut,
    TaskOut,
)
from backend.volunteers.dependencies import MyActiveProfile
from backend.volunteers.exceptions import NotAnActiveVolunteer, VolunteerNotFound

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
LatQ = Annotated[float | None, Query(ge=-90, le=90, description="我当前的位置（用于显示距离）")]
LngQ = Annotated[float | None, Query(ge=-180, le=180)]
STEP_ERRORS = (TaskNotFound, InvalidTransition, TaskCancelled)


async def kinds_of(community_id: int | None) -> list[HelpKindOut]:
    rows = await repository.help_kinds(community_id)
    if rows:
        return [HelpKindOut(code=k.code, name=k.name, skill=k.skill) for k in rows]
    return [HelpKindOut(code=c, name=n, skill=s) for c, (n, s) in enums.DEFAULT_HELP_KINDS.items()]


async def _kind(community_id: int | None, code: str) -> tuple[str, str, str | None]:
    for k in await kinds_of(community_id):
        if k.code == code:
            return k.code, k.name, k.skill
    raise UnknownHelpKind(detail={"loc": "body.help_kind"})


# ------------------------------------------------------------------------------------------------ residents


@router.get("/help-kinds", response_model=list[HelpKindOut])
async def help_kinds(
    principal: CurrentUser, community_id: Annotated[int | None, Query(gt=0, le=2**62)] = None
):
    """本社区可申请的帮办服务（代购、送餐、陪诊……）。"""
    if community_id is None:
        household = await household_of(principal.user)
        community_id = household.community_id if household else None
    return await kinds_of(community_id)


@router.put("/help-kinds", response_model=list[HelpKindOut], responses=responses(NotFound))
async def set_help_kinds(body: HelpKindsIn, principal: CommunityStaff):
    """社区配置可申请的帮办服务。"""
    from backend.core import audit  # noqa: PLC0415
    from backend.core.db import atomic  # noqa: PLC0415

    unit = await OrgUnit.get_or_none(id=body.community_id)
    if (
        unit is None
        or unit.level != OrgLevel.COMMUNITY
        or not scope_of(principal, enums_staff()).covers(unit)
    ):
        raise NotFound("找不到该社区", detail={"loc": "body.community_id"})
    async with atomic():
        await HelpKind.filter(community_id=unit.id).delete()  # scope: replacing one community's configuration
        await HelpKind.bulk_create(
            [
                HelpKind(code=k.code, name=k.name, skill=k.skill, sort_order=i, **place_of(unit))
                for i, k in enumerate(body.kinds)
            ]
        )
        await audit.record(
            "task:help_kinds",
            actor_id=principal.id,
            object_type="org_unit",
            object_id=unit.id,
            detail={"codes": [k.code for k in body.kinds]},
        )
    return await kinds_of(unit.id)


def enums_staff():  # type: ignore[no-untyped-def]
    from backend.models.user import Role  # noqa: PLC0415

    return (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)


@router.post(
    "/help",
    response_model=TaskOut,
    status_code=201,
    responses=responses(NotFound, UnknownHelpKind, NoLocation),
)
async def request_help(body: HelpRequestIn, principal: CurrentUser, settings: SettingsDep):
    """申请帮办（代购、送餐、陪诊……）；工作人员可代居民申请（for_user_id）。"""
    resident = await resident_for(principal, body.for_user_id)
    household = await household_of(resident)
    community_id = household.community_id if household else None
    if community_id is None:
        scope = await member_scope(principal)
        community_id = next(iter(sorted(scope.units.get(OrgLevel.COMMUNITY, ()))), None)
    community = await OrgUnit.get_or_none(id=community_id) if community_id else None
    if community is None:
        raise NoLocation("请先登记所在社区或住户")
    kind = await _kind(community.id, body.help_kind)
    task = await service.request_help(
        settings,
        resident,
        household,
        community,
        kind,
        note=body.note,
        lat=body.lat,
        lng=body.lng,
        actor_id=principal.id,
    )
    return await views.task_out(principal, task)


@router.get("/mine", response_model=Page[TaskOut])
async def my_tasks(principal: CurrentUser, cursor: CursorParam = None, limit: LimitParam = 20):
    """我（和家人）申请的任务。"""
    rows = await repository.requested_by(
        principal.id, principal.user.household_id, before_id=decode_cursor(cursor), limit=limit
    )
    more, rows = len(rows) > limit, rows[:limit]
    return Page(
        items=await views.tasks_out(principal, rows), next_cursor=encode_cursor(rows[-1].id) if more else None
    )


# ------------------------------------------------------------------------------------------------ volunteers


@router.get("/hall", response_model=list[TaskOut], responses=responses(NotAnActiveVolunteer))
async def task_hall(principal: CurrentUser, profile: MyActiveProfile, lat: LatQ = None, lng: LngQ = None):
    """任务大厅：派给我的、还在等人接的任务，附距离（带上当前位置则按当前位置计算）。"""
    pairs = await repository.hall(principal.id)
    at = (lat, lng) if lat is not None and lng is not None else None
    return await views.tasks_out(
        principal, [t for t, _ in pairs], at=at, distances={t.id: o.distance_m for t, o in pairs}
    )


@router.get("/assigned", response_model=list[TaskOut], responses=responses(NotAnActiveVolunteer))
async def my_assigned(principal: CurrentUser, profile: MyActiveProfile):
    """我正在进行的任务。"""
    return await views.tasks_out(principal, await repository.held_by(principal.id))


@router.post(
    "/{task_id}/accept",
    response_model=TaskOut,
    responses=responses(
        TaskNotFound,
        NotAnActiveVolunteer,
        TaskAlreadyClaimed,
        TooManyActiveTasks,
        OfferWithdrawn,
        TaskCancelled,
    ),
)
async def accept(task: VolunteerTask, principal: CurrentUser, profile: MyActiveProfile):
    """接单：先到先得，只能接派给自己的任务。"""
    return await views.task_out(principal, await service.accept(task, principal.id))


@router.post("/{task_id}/decline", status_code=204, responses=responses(TaskNotFound, OfferWithdrawn))
async def decline(task: VolunteerTask, principal: CurrentUser):
    await service.decline(task, principal.id)
    return Response(status_code=204)


@router.post("/{task_id}/drop", response_model=TaskOut, responses=responses(*STEP_ERRORS))
async def drop(task: VisibleTask, principal: CurrentUser, body: ReasonIn | None = None):
    """退单：任务回到派单，重新寻找志愿者（接单志愿者本人，或社区工作人员代为操作）。"""
    if task.volunteer_id != principal.id and not scope_of(principal, enums_staff()).covers(task):
        raise TaskNotFound()
    return await views.task_out(
        principal, await fulfilment.drop(task, actor_id=principal.id, reason=body.reason if body else None)
    )


@router.post("/{task_id}/pickup", response_model=TaskOut, responses=responses(*STEP_ERRORS))
async def pick_up(task: KeeperTask, principal: CurrentUser):
    """爱心超市确认志愿者已取货（货物出库）。"""
    return await views.task_out(principal, await fulfilment.pick_up(task, actor_id=principal.id))


@router.post("/{task_id}/deliver", response_model=TaskOut, responses=responses(*STEP_ERRORS, MediaNotUsable))
async def deliver(task: VolunteerTask, principal: CurrentUser, body: DeliverIn, settings: SettingsDep):
    """志愿者标记已送达／已完成（附位置，可附照片：本人上传、尚未使用的图片）。"""
    if task.volunteer_id != principal.id:
        raise InvalidTransition("只有接单的志愿者可以标记完成")
    return await views.task_out(
        principal,
        await fulfilment.deliver(
            task, principal.id, lat=body.lat, lng=body.lng, photo_media_id=body.photo_media_id, note=body.note
        ),
        settings,
    )


@router.post("/{task_id}/confirm", response_model=TaskOut, responses=responses(*STEP_ERRORS))
async def confirm(task: FamilyOrStaffTask, principal: CurrentUser, body: ReasonIn | None = None):
    """确认完成（本人、家人，或网格员代无手机的居民确认）：志愿者时长按社区规则记入，只记一次。"""
    return await views.task_out(
        principal, await fulfilment.confirm(task, actor_id=principal.id, note=body.reason if body else None)
    )


@router.post(
    "/{task_id}/cancel", response_model=TaskOut, responses=responses(*STEP_ERRORS, OrderNotCancellable)
)
async def cancel(task: FamilyOrStaffTask, principal: CurrentUser, body: ReasonIn | None = None):
    """取消任务（送货任务同时取消订单，退回积分和库存）。"""
    is_staff = staff(principal).covers(task) and not is_family(principal, task)
    return await views.task_out(
        principal,
        await fulfilment.cancel(
            task, actor_id=principal.id, reason=body.reason if body else None, staff=is_staff
        ),
    )


@router.get("/{task_id}", response_model=TaskOut, responses=responses(TaskNotFound))
async def get_task(task: VisibleTask, principal: CurrentUser, settings: SettingsDep):
    """任务详情（送达照片的签名链接只给接单志愿者、本人及家人和工作人员）。"""
    return await views.task_out(principal, task, settings)


@router.get("/{task_id}/history", response_model=list[TaskEventOut], responses=responses(TaskNotFound))
async def history(task: VisibleTask):
    """任务的每一步：谁、何时、从什么状态到什么状态、为什么。"""
    return [views.event_out(e) for e in await TaskEvent.filter(task_id=task.id).order_by("id")]


# ------------------------------------------------------------------------------------------------ staff


@router.get("", response_model=Page[TaskOut])
async def list_tasks(
    principal: TaskStaff,
    status: TaskStatus | None = None,
    late: bool = False,
    escalated: bool = False,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
):
    """我负责范围内的任务；late=true 只看超时未完成的，escalated=true 只看无人接单转来的。"""
    rows = await repository.staff_tasks(
        staff(principal),
        status=status,
        late=late,
        escalated=escalated,
        before_id=decode_cursor(cursor),
        limit=limit,
    )
    more, rows = len(rows) > limit, rows[:limit]
    return Page(
        items=await views.tasks_out(principal, rows), next_cursor=encode_cursor(rows[-1].id) if more else None
    )


@router.post(
    "/{task_id}/offers",
    status_code=204,
    responses=responses(TaskNotFound, VolunteerNotFound, TaskAlreadyClaimed, TaskCancelled),
)
async def offer_to(task: StaffTask, body: OfferToIn, principal: TaskStaff):
    """工作人员指定把任务派给某位志愿者。"""
    await service.offer_to(task, body.volunteer_id, actor_id=principal.id)
    return Response(status_code=204)


@router.post(
    "/batch", response_model=BatchOut, status_code=201, responses=responses(NotFound, UnknownHelpKind)
)
async def raise_batch(body: BatchIn, principal: CommunityStaff, settings: SettingsDep):
    """应急批量派单：为一个网格或社区的住户（可按高龄、独居等筛选）一次发起任务。"""
    from backend.ledger.repository import primary_residents  # noqa: PLC0415
    from backend.org.scope import unit_scope  # noqa: PLC0415

    unit = await OrgUnit.get_or_none(id=body.unit_id)
    if unit is None or not scope_of(principal, enums_staff()).covers(unit):
        raise NotFound("找不到该单位", detail={"loc": "body.unit_id"})
    kind = await _kind(unit.community_id, body.help_kind)
    qs = unit_scope(unit).filter(Household.all())
    if body.household_ids is not None:
        qs = qs.filter(id__in=body.household_ids)
    if body.only:
        from tortoise.expressions import Q  # noqa: PLC0415

        qs = qs.filter(Q(*[Q(**{flag: True}) for flag in body.only], join_type=Q.OR))
    households = await qs.order_by("id").limit(5000)
    primary = await primary_residents([h.id for h in households])
    batch_key, ids = await service.raise_batch(
        settings, households, primary, kind, title=body.title, note=body.note, actor_id=principal.id
    )
    return BatchOut(batch_key=batch_key, created=len(ids), task_ids=ids)
