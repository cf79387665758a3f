"""Loaders for /api/v1/users/{user_id}: the user, if in the caller's scope, else 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from backend.auth.dependencies import Staff
from backend.core.errors import NotFound
from backend.models.user import User
from backend.org.scope import scope_of
from backend.users import repository
from backend.users.service import GRANTERS, USER_READERS


async def _load(principal: Staff, user_id: int, roles: tuple) -> User:  # type: ignore[type-arg]
    user = await repository.user(scope_of(principal, roles), user_id)
    if user is None:
        raise NotFound("找不到该人员")
    return user


async def user_readable(principal: Staff, user_id: Annotated[int, Path(gt=0, le=2**62)]) -> User:
    return await _load(principal, user_id, USER_READERS)


async def user_manageable(principal: Staff, user_id: Annotated[int, Path(gt=0, le=2**62)]) -> User:
    return await _load(principal, user_id, GRANTERS)


ReadableUser = Annotated[User, Depends(user_readable)]
ManageableUser = Annotated[User, Depends(user_manageable)]
