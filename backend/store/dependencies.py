"""Loaders for the 爱心超市 routes: the object if it lies in the caller's scope, else 404. Residents see the
stores of their own community; community staff and above run stores and stock; any staff member from grid
worker up may order and cancel on a resident's behalf within their area."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import CurrentUser, require_roles
from backend.auth.principal import STAFF_ROLES, Principal
from backend.core.errors import NotFound
from backend.models.org import OrgLevel, OrgUnit
from backend.models.store import Order, Store, StoreItem
from backend.models.user import Role, User
from backend.org.scope import Scope, scope_of
from backend.store import repository
from backend.store.exceptions import ItemNotFound, OrderNotFound, StoreNotFound
from backend.store.places import household_scope, member_scope, member_scope_with
from backend.store.repository import OrderContext
from backend.users import repository as users_repository

STORE_ADMINS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
Id = Annotated[int, Path(gt=0, le=2**62)]
StoreAdmin = Annotated[Principal, Depends(require_roles(*STORE_ADMINS))]


def admins(principal: Principal) -> Scope:
    return scope_of(principal, STORE_ADMINS)


def staff(principal: Principal) -> Scope:
    return scope_of(principal, STAFF_ROLES)


async def visible_scope(principal: Principal) -> Scope:
    return (await member_scope(principal)).union(staff(principal))


async def community_for_store(principal: Principal, community_id: int) -> OrgUnit:
    unit = await OrgUnit.get_or_none(id=community_id)
    if unit is None or unit.level != OrgLevel.COMMUNITY or not admins(principal).covers(unit):
        raise NotFound("找不到该社区", detail={"loc": "body.community_id"})
    return unit


async def store_visible(principal: CurrentUser, store_id: Id) -> Store:
    store = await repository.scoped_stores(await visible_scope(principal)).filter(id=store_id).first()
    if store is None:
        raise StoreNotFound()
    return store


async def store_writable(principal: StoreAdmin, store_id: Id) -> Store:
    store = await repository.scoped_stores(admins(principal)).filter(id=store_id).first()
    if store is None:
        raise StoreNotFound()
    return store


async def item_writable(principal: StoreAdmin, item_id: Id) -> StoreItem:
    item = await repository.scoped_items(admins(principal)).filter(id=item_id).first()
    if item is None:
        raise ItemNotFound()
    return item


async def target_item(principal: Principal, item_id: int) -> StoreItem:
    item = await repository.scoped_items(admins(principal)).filter(id=item_id).first()
    if item is None:
        raise ItemNotFound(detail={"loc": "body.to_item_id"})
    return item


def is_family(principal: Principal, resident_id: int, household_id: int | None) -> bool:
    own = principal.user.household_id
    return principal.id == resident_id or (
        household_id is not None and own is not None and own == household_id
    )


async def order_visible(principal: CurrentUser, order_id: Id) -> Order:
    order = await Order.get_or_none(id=order_id).prefetch_related("lines")
    if order is None or not (
        is_family(principal, order.resident_id, order.household_id) or staff(principal).covers(order)
    ):
        raise OrderNotFound()
    return order


async def order_for_counter(principal: StoreAdmin, order_id: Id) -> Order:
    order = (
        await repository.scoped_orders(admins(principal))
        .filter(id=order_id)
        .prefetch_related("lines")
        .first()
    )
    if order is None:
        raise OrderNotFound()
    return order


async def store_to_order_from(
    principal: Principal, resident: User, store_id: int, item_ids: list[int], *, delivery: bool
) -> OrderContext:
    """What an order needs (one query), if the store is one the order may go to: the resident's own
    community's stores (staff ordering for them reach those too), or any in the caller's scope. Else 404."""
    ctx = await repository.order_context(store_id, item_ids, resident.household_id, home=delivery)
    if resident.id == principal.id:
        scope = member_scope_with(principal, ctx.household).union(staff(principal))
    else:
        scope = household_scope(ctx.household).union(staff(principal))
    if ctx.store is None or not ctx.store.is_active or not scope.covers(ctx.store):
        raise StoreNotFound(detail={"loc": "body.store_id"})
    return ctx


async def resident_for(principal: Principal, for_user_id: int | None) -> User:
    """Who the order is for: the caller, or a resident in a staff member's area (ordering on their behalf)."""
    if for_user_id is None or for_user_id == principal.id:
        return principal.user
    person = await users_repository.user(staff(principal), for_user_id)
    if person is None or not person.is_active:
        raise NotFound("找不到该居民", detail={"loc": "body.for_user_id"})
    return person


VisibleStore = Annotated[Store, Depends(store_visible)]
WritableStore = Annotated[Store, Depends(store_writable)]
WritableItem = Annotated[StoreItem, Depends(item_writable)]
VisibleOrder = Annotated[Order, Depends(order_visible)]
CounterOrder = Annotated[Order, Depends(order_for_counter)]
