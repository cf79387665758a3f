"""WeChat subscribe-message templates per notification kind, and the field rules WeChat enforces.

Settings (``JINLIN_WECHAT_TEMPLATES``, JSON) map a kind to a template id and its keywords, each a format string
over the notification: ``{"report.assigned": {"template_id": "abc", "data": {"thing1": "{title:.20}",
"time2": "{time}", "phrase3": "待处理"}}}``. Available names: ``title``, ``body``, ``time`` (``2026年11月22日
08:30``), ``date`` (``2026年11月22日``), ``kind_label`` and every key of the event's ``data``. A format spec such
as ``.20`` truncates. Only plain names are allowed (no attribute or index lookups).

``render`` checks every value against WeChat's rules (subscribeMessage.send, "订阅消息参数值内容限制说明":
thing ≤ 20 characters, number ≤ 32 digits, phrase ≤ 5 Chinese characters, …) before any HTTP call, so a
message that WeChat would refuse with 47003 is never sent and never spends a user's consent.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CJK = "\u4e00-\u9fff"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = (
    r"(?:\d{4}年(?:0?[1-9]|1[0-2])月(?:(?:0?[1-9]|[12]\d|3[01])日)?|(?:0?[1-9]|1[0-2])月(?:0?[1-9]|[12]\d|3[01])日"
    r"|\d{4}([-/.])(?:0?[1-9]|1[0-2])(?:\1(?:0?[1-9]|[12]\d|3[01]))?|(?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01]))"
)
_CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"


def _range(point: str) -> re.Pattern[str]:
    # A time or date may be a span "a~b"; the date pattern's back-reference is renamed in the second half.
    second = point.replace(r"\1", r"\2")
    return re.compile(rf"^{point}(?:\s*~\s*{second})?$")


_TIME = _range(rf"(?:{_DATE}\s*)?{_CLOCK}")
_DATE_RE = _range(rf"{_DATE}(?:\s*{_CLOCK})?")


class TemplateError(ValueError):
    """A template is misconfigured, or a value breaks its keyword's rule (``field`` names the keyword)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def _chars(value: str, limit: int, what: str) -> str | None:
    return f"{what}最多{limit}个字符（现为{len(value)}个）" if len(value) > limit else None


def _name(value: str) -> str | None:
    if re.search(f"[{CJK}]", value):
        return None if len(value) <= 10 else f"姓名含汉字时最多10个字（现为{len(value)}个）"
    if re.fullmatch(r"[A-Za-z\s.·'-]+", value):
        return None if len(value) <= 20 else f"英文姓名最多20个字母（现为{len(value)}个）"
    return "姓名只能是汉字或字母"


def _symbol(value: str) -> str | None:
    if len(value) > 5:
        return f"符号最多5个（现为{len(value)}个）"
    if re.search(rf"[0-9A-Za-z{CJK}\s]", value):
        return "只能是符号"
    return None


RULES: dict[str, Any] = {
    "thing": lambda v: _chars(v, 20, ""),
    "number": lambda v: _chars(v, 32, "数字") or (None if re.fullmatch(r"\d+(\.\d+)?", v) else "只能是数字，可带小数"),
    "letter": lambda v: _chars(v, 32, "字母") or (None if re.fullmatch(r"[A-Za-z]+", v) else "只能是字母"),
    "symbol": _symbol,
    "character_string": lambda v: _chars(v, 32, "")
    or (None if re.fullmatch(r"[\x20-\x7e]+", v) else "只能是数字、字母或符号"),
    "time": lambda v: None if _TIME.fullmatch(v) else "时间格式应为 15:01 或 2026年11月22日 15:01",
    "date": lambda v: None if _DATE_RE.fullmatch(v) else "日期格式应为 2026年11月22日 或 2026-11-22",
    "amount": lambda v: None if re.fullmatch(r"[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?", v) else "金额格式不正确",
    "phone_number": lambda v: _chars(v, 17, "电话")
    or (None if re.fullmatch(r"[\d+\-() ]+", v) else "电话只能包含数字和符号"),
    "car_number": lambda v: None
    if len(v) <= 8 and re.fullmatch(rf"[{CJK}]?[A-Za-z0-9]+[{CJK}]?", v)
    else "车牌格式不正确",
    "name": _name,
    "phrase": lambda v: None if re.fullmatch(f"[{CJK}]{{1,5}}", v) else "只能是5个以内的汉字",
    "enum": lambda v: _chars(v, 20, ""),
}


def keyword_type(keyword: str) -> str:
    """``thing12`` → ``thing``; ``character_string3`` → ``character_string``."""
    return keyword.rstrip("0123456789")


def check_value(keyword: str, value: str) -> None:
    """Raise ``TemplateError`` unless WeChat would accept ``value`` for ``keyword``."""
    kind = keyword_type(keyword)
    rule = RULES.get(kind)
    if rule is None:
        raise TemplateError(keyword, f"未知的模板参数类型 {kind!r}")
    if not value or not value.strip():
        raise TemplateError(keyword, "不能为空")
    if _CONTROL.search(value):
        raise TemplateError(keyword, "不能包含换行等控制字符")
    problem = rule(value)
    if problem:
        raise TemplateError(keyword, problem)


class _StrictFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", field_name):
            raise TemplateError(field_name, "模板只能引用简单的名字")
        if field_name not in kwargs:
            raise TemplateError(field_name, "没有这个值")
        return kwargs[field_name], field_name


_FORMATTER = _StrictFormatter()


@dataclass(frozen=True)
class Template:
    kind: str
    template_id: str
    fields: dict[str, str]  # keyword -> format string

    def render(self, context: Mapping[str, Any]) -> dict[str, str]:
        """The ``data`` of one send, every value checked against its keyword's rule."""
        out: dict[str, str] = {}
        for keyword, fmt in self.fields.items():
            try:
                value = _FORMATTER.format(fmt, **context).strip()
            except (KeyError, IndexError, ValueError) as exc:
                if isinstance(exc, TemplateError):
                    raise TemplateError(keyword, f"{exc.field}: {exc.reason}") from exc
                raise TemplateError(keyword, f"无法生成：{exc}") from exc
            check_value(keyword, value)
            out[keyword] = value
        return out


def parse(raw: Mapping[str, Any]) -> dict[str, Template]:
    """Templates from settings; raises ``TemplateError`` on a malformed entry (named by its kind)."""
    templates: dict[str, Template] = {}
    for kind, spec in raw.items():
        if not isinstance(spec, Mapping) or not isinstance(spec.get("template_id"), str) or not spec["template_id"]:
            raise TemplateError(kind, "需要 template_id")
        data = spec.get("data")
        if not isinstance(data, Mapping) or not data or not all(isinstance(v, str) for v in data.values()):
            raise TemplateError(kind, "data 应为 {关键词: 格式串}")
        for keyword in data:
            if keyword_type(keyword) not in RULES:
                raise TemplateError(f"{kind}.{keyword}", f"未知的模板参数类型 {keyword_type(keyword)!r}")
        templates[kind] = Template(kind=kind, template_id=spec["template_id"], fields=dict(data))
    return templates
