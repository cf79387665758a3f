"""Errors of the 爱心超市 domain, on the one error tree (``backend.core.errors``)::

BadRequest (400)
└── NoHousehold               delivery needs a registered home address
NotFound (404)
├── StoreNotFound
├── ItemNotFound
└── OrderNotFound
Conflict (409)
├── OutOfStock                not enough on the shelf (settled by a conditional UPDATE)
├── MonthlyLimitReached       the household's monthly limit for the item
├── StockWouldGoNegative      an adjustment or transfer larger than the stock
├── StockChanged              the stock moved while a stock-take was being posted: count again
├── CountBelowHeld            counted fewer than are set aside for open orders
└── InvalidTransition
    └── OrderNotCancellable   handed over or finished orders are not cancelled by the resident
(InsufficientBalance comes from the ledger: not enough 爱心积分)
"""

from __future__ import annotations

from backend.core.errors import BadRequest, Conflict, InvalidTransition, NotFound


class NoHousehold(BadRequest):
    message = "该居民没有登记住址，无法送货上门，请选择到店自提或先登记住户"


class StoreNotFound(NotFound):
    message = "找不到该爱心超市"


class ItemNotFound(NotFound):
    message = "找不到该商品"


class OrderNotFound(NotFound):
    message = "找不到该订单"


class OutOfStock(Conflict):
    message = "库存不足，该商品已被兑换完"


class MonthlyLimitReached(Conflict):
    message = "本户本月兑换该商品已达上限"


class StockWouldGoNegative(Conflict):
    message = "库存不足，调整后库存不能为负数"


class StockChanged(Conflict):
    message = "盘点期间库存发生了变化，请重新清点后再提交"


class CountBelowHeld(Conflict):
    message = "清点数量少于已被订单预留的数量，请先处理相关订单"


class OrderNotCancellable(InvalidTransition):
    message = "该订单当前状态不能取消"
