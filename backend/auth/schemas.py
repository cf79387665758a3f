"""Request and response bodies of the auth routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from backend.models.user import Role

PHONE_PATTERN = r"^1[3-9]\d{9}$"


class WechatLoginIn(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="wx.login 返回的临时登录凭证")


class PhoneBindIn(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="getPhoneNumber 按钮返回的动态令牌")


class PasswordLoginIn(BaseModel):
    phone: str = Field(pattern=PHONE_PATTERN, description="11 位手机号")
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=2048)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class WechatTokenPair(TokenPair):
    is_new_user: bool


class DevAccount(BaseModel):
    user_id: int
    name: str
    roles: list[Role]
    label: str


class DevAccounts(BaseModel):
    accounts: list[DevAccount]


class DevLoginIn(BaseModel):
    user_id: int = Field(gt=0)
