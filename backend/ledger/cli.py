"""``jinlin ledger …``: verify the ledger, export a statement. Mounted by ``backend/cli.py``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

ledger_cli = typer.Typer(help="时间银行与爱心积分账本：核对、导出", no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)
PHASES = {"entries": "核对分录", "transfers": "核对转账", "accounts": "核对账户"}


async def _with_orm(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    from tortoise.context import TortoiseContext

    from backend.config import get_settings
    from backend.core.db import tortoise_config

    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(get_settings()))
        return await fn(*args, **kwargs)


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err, transient=False)


@ledger_cli.command()
def verify(
    batch: Annotated[int, typer.Option(min=1000, help="每批处理的分录编号跨度")] = 200_000,
) -> None:
    """由分录重新计算每个账户的余额和累计时长，检查每笔转账按币种收支平衡、每条分录的余额连续；有任何差异时退出码为 1。"""
    from backend.ledger.verify import verify as run

    with _bar() as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES[phase], total=total)
            bar.update(tasks[phase], completed=done, total=total)

        report = asyncio.run(_with_orm(run, batch=batch, progress=progress))
    console.print(f"分录 {report.entries} 条，转账 {report.transfers} 笔，账户 {report.accounts} 个，用时 {report.seconds:.1f} 秒")
    if report.ok:
        console.print("[green]账本一致：余额等于分录之和，每笔转账收支平衡[/green]")
        return
    table = Table(title=f"发现 {len(report.problems)}{'+' if report.truncated else ''} 处差异")
    for column in ("类型", "对象", "应为", "实际"):
        table.add_column(column)
    for p in report.problems:
        table.add_row(p.kind, p.subject, str(p.expected), str(p.found))
    console.print(table)
    raise typer.Exit(1)


@ledger_cli.command()
def export(
    account_id: Annotated[int, typer.Argument(help="账户编号")],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="写入的 .xlsx 文件")],
    month: Annotated[str | None, typer.Option(help="只导出某月，如 2026-11")] = None,
) -> None:
    """把一个账户的明细导出为 Excel（大账户会显示进度）。"""
    from backend.ledger import export as exporter
    from backend.models.ledger import Account

    async def main() -> int:
        account = await Account.get_or_none(id=account_id)
        if account is None:
            err.print(f"[red]找不到账户 {account_id}[/red]")
            raise typer.Exit(1)
        total = await exporter.count_rows(account, month)
        with _bar() as bar, out.open("wb") as fh:
            task = bar.add_task("导出中", total=total)
            return await exporter.write_statement(
                account, fh, title=f"账户 {account_id} 明细", month=month,
                progress=lambda done: bar.update(task, completed=done),
            )

    lines = asyncio.run(_with_orm(main))
    console.print(f"[green]已写入 {out}（{lines} 行）[/green]")
