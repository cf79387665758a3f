"""Statements as Excel files (openpyxl write-only mode: rows are streamed to a temporary file, so a long
statement does not sit in memory). Entries are read in id-ordered batches; ``progress(done)`` is called after
each batch (the CLI draws a rich progress bar with it)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from backend.core.timeutil import to_local
from backend.ledger import repository
from backend.ledger.statements import month_range
from backend.models.ledger import Account, Currency, TransferKind

HEADER = ("流水号", "时间", "类型", "摘要", "关联", "收入", "支出", "余额", "记账编号")
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bold(sheet, value: str) -> WriteOnlyCell:  # type: ignore[no-untyped-def]
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    return cell


def _fmt(currency: Currency, value: int) -> float | int:
    return round(value / 60, 2) if currency is Currency.HOUR else value


async def count_rows(account: Account, month: str | None) -> int:
    start, end = month_range(month) if month else (None, None)
    return await repository.count_entries(account.id, start, end)


async def write_statement(
    account: Account, out: BinaryIO, *, title: str, month: str | None = None, batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the account's statement (one month, or everything) to ``out``; returns the number of lines."""
    currency = Currency(account.currency)
    unit = "小时" if currency is Currency.HOUR else "积分"
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(month or "全部")[:31])
    sheet.append([_bold(sheet, title)])
    sheet.append([_bold(sheet, f"{h}（{unit}）" if h in ("收入", "支出", "余额") else h) for h in HEADER])
    start, end = month_range(month) if month else (None, None)
    after, done = 0, 0
    while rows := await repository.entries_batch(account.id, after_id=after, start=start, end=end, limit=batch):
        for e in rows:
            kind = TransferKind(e.transfer.kind)
            link = f"{e.transfer.link_type}:{e.transfer.link_id}" if e.transfer.link_type else ""
            sheet.append([
                e.id, to_local(e.created_at).strftime("%Y-%m-%d %H:%M:%S"), kind.label, e.transfer.reason, link,
                _fmt(currency, e.amount) if e.amount > 0 else None,
                _fmt(currency, -e.amount) if e.amount < 0 else None,
                _fmt(currency, e.balance_after), e.transfer_id,
            ])
        after, done = rows[-1].id, done + len(rows)
        if progress is not None:
            progress(done)
    book.save(out)
    return done


async def statement_bytes(account: Account, *, title: str, month: str | None) -> bytes:
    buffer = io.BytesIO()
    await write_statement(account, buffer, title=title, month=month)
    return buffer.getvalue()
