"""Errors of the org domain."""

from __future__ import annotations

from backend.core.errors import AlreadyExists, BadRequest, Conflict, ValidationFailed


class WrongParentLevel(BadRequest):
    message = "上级单位的层级不对"


class UnitNameTaken(AlreadyExists):
    message = "同一上级下已有同名单位"


class UnitCodeTaken(AlreadyExists):
    message = "该编码已被其他单位使用"


class UnitNotEmpty(Conflict):
    message = "该单位下还有下级单位、住户或人员，不能删除"


class DoorTaken(AlreadyExists):
    message = "该楼栋已有相同门牌号的住户"


class NotABuilding(BadRequest):
    message = "住户只能登记在楼栋下"


class ImportRejected(ValidationFailed):
    message = "导入文件有错误，未导入任何数据"
