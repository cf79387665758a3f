"""Loaders for the task routes, each returning 404 when the caller may not see the task:

- a volunteer sees only tasks offered to them or held by them (``repository.offered_to``);
- the requester and their household see their own tasks;
- staff (grid worker up) see tasks in their scope; store staff (community staff up) confirm pick-ups."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import CurrentUser, require_roles
from backend.auth.principal import STAFF_ROLES, Principal
from backend.models.tasks import Task
from backend.models.user import Role
from backend.org.scope import Scope, scope_of
from backend.tasks import repository
from backend.tasks.exceptions import TaskNotFound

Id = Annotated[int, Path(gt=0, le=2**62)]
STORE_KEEPERS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
TaskStaff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
Keeper = Annotated[Principal, Depends(require_roles(*STORE_KEEPERS))]


def staff(principal: Principal) -> Scope:
    return scope_of(principal, STAFF_ROLES)


def is_family(principal: Principal, task: Task) -> bool:
    own = principal.user.household_id
    return principal.id == task.requester_id or (task.household_id is not None and own == task.household_id)


async def for_volunteer(principal: CurrentUser, task_id: Id) -> Task:
    task = await repository.offered_to(principal.id).filter(id=task_id).first()
    if task is None:
        raise TaskNotFound()
    return task


async def visible(principal: CurrentUser, task_id: Id) -> Task:
    task = await Task.get_or_none(id=task_id)
    if task is None:
        raise TaskNotFound()
    if is_family(principal, task) or staff(principal).covers(task):
        return task
    if await repository.offered_to(principal.id).filter(id=task_id).exists():
        return task
    raise TaskNotFound()


async def for_family_or_staff(principal: CurrentUser, task_id: Id) -> Task:
    """The requester, their household, or staff in scope (confirm, cancel)."""
    task = await Task.get_or_none(id=task_id)
    if task is None or not (is_family(principal, task) or staff(principal).covers(task)):
        raise TaskNotFound()
    return task


async def for_staff(principal: TaskStaff, task_id: Id) -> Task:
    task = await repository.scoped_tasks(staff(principal)).filter(id=task_id).first()
    if task is None:
        raise TaskNotFound()
    return task


async def for_keeper(principal: Keeper, task_id: Id) -> Task:
    task = await repository.scoped_tasks(scope_of(principal, STORE_KEEPERS)).filter(id=task_id).first()
    if task is None:
        raise TaskNotFound()
    return task


VolunteerTask = Annotated[Task, Depends(for_volunteer)]
VisibleTask = Annotated[Task, Depends(visible)]
FamilyOrStaffTask = Annotated[Task, Depends(for_family_or_staff)]
StaffTask = Annotated[Task, Depends(for_staff)]
KeeperTask = Annotated[Task, Depends(for_keeper)]
