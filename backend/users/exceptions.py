"""Errors of the users domain."""

from __future__ import annotations

from backend.core.errors import AlreadyExists, BadRequest, Forbidden


class PhoneTaken(AlreadyExists):
    message = "该手机号已登记"


class CannotGrant(Forbidden):
    message = "您不能授予该角色，或该单位不在您的管辖范围内"


class WrongGrantLevel(BadRequest):
    message = "该角色不能设在这一层级的单位上"


class GrantExists(AlreadyExists):
    message = "该人员已有这个角色"
