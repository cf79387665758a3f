"""Errors of the Open311 endpoints (in the one error tree of backend/core/errors.py).

The router renders every error in the spec's format instead of the app's JSON shape —
``<errors><error><code/><description/></error></errors>`` or ``[{"code", "description"}]`` — with the HTTP
status the spec asks for: 403 for a missing or wrong ``api_key``, 404 for what does not exist, 400 for any
other request that cannot be fulfilled (``render.http_status``).

BadRequest         BadParameter (one error per field in ``detail``), UnsupportedFormat
Forbidden          MissingApiKey, InvalidApiKey
NotFound           ServiceNotFound, ServiceRequestNotFound, Open311NotFound, CommunityNotFound,
                   ClientNotFound
Conflict           ClientExists (issuing a key under a name that has one, without ``--rotate``)
"""

from __future__ import annotations

from backend.core.errors import AlreadyExists, BadRequest, Forbidden, NotFound


class BadParameter(BadRequest):
    message = "请求参数有误"


class UnsupportedFormat(BadRequest):
    message = "不支持的格式，请用 .xml 或 .json"


class MissingApiKey(Forbidden):
    message = "缺少 api_key：提交上报需要由街道发放的 API 密钥"


class InvalidApiKey(Forbidden):
    message = "api_key 无效或已停用"


class ServiceNotFound(NotFound):
    message = "找不到该 service_code（上报分类）"


class ServiceRequestNotFound(NotFound):
    message = "找不到该上报"


class Open311NotFound(NotFound):
    message = "找不到该资源：请参照 GeoReport v2 的路径（如 /open311/v2/services.xml）"


class CommunityNotFound(NotFound):
    message = "找不到该社区"


class ClientNotFound(NotFound):
    message = "找不到该名称的 Open311 客户端"


class ClientExists(AlreadyExists):
    message = "该名称已有密钥；要作废旧密钥并发放新密钥，请加 --rotate"
