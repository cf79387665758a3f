"""``jinlin visits …``: export a month's 走访台账 to Excel with a progress bar. Mounted by ``backend/cli.py``."""

from __future__ import annotations

import asyncio
import re
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

visits_cli = typer.Typer(help="入户走访：导出月度走访台账", no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)


async def _with_orm(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    from tortoise.context import TortoiseContext

    from backend.config import get_settings
    from backend.core.db import tortoise_config

    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(get_settings()))
        return await fn(*args, **kwargs)


@visits_cli.command()
def export(
    unit_id: Annotated[int, typer.Option("--unit", help="网格、社区或街道的 id")],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="写入的 .xlsx 文件")],
    month: Annotated[str | None, typer.Option(help="月份，如 2026-11（默认本月）")] = None,
) -> None:
    """导出月度走访台账（汇总表 + 每个网格一张，含合计行），逐网格显示进度。"""
    from backend.models.org import OrgLevel, OrgUnit
    from backend.visits import ledger_export, months

    if month is not None and not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", month):
        err.print("[red]月份应写成 2026-11 这样[/red]")
        raise typer.Exit(2)

    async def main():  # type: ignore[no-untyped-def]
        unit = await OrgUnit.get_or_none(id=unit_id)
        if unit is None or OrgLevel(unit.level) not in (OrgLevel.GRID, OrgLevel.COMMUNITY, OrgLevel.STREET):
            err.print(f"[red]找不到网格、社区或街道 {unit_id}[/red]")
            raise typer.Exit(1)
        with Progress(TextColumn("导出住户"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=err) as bar, out.open("wb") as fh:
            task = bar.add_task("households", total=None)
            report = await ledger_export.write(
                unit, month or months.current_month(), fh,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
        return unit, report

    unit, report = asyncio.run(_with_orm(main))
    t = report.total
    console.print(f"[green]已写入 {out}：{unit.name} {report.month}，{len(report.grids)} 个网格，联系 {t.assigned} 户，"
                  f"已走访 {t.visited} 户（覆盖率 {t.coverage if t.coverage is not None else '-'}%），"
                  f"走访 {t.visits} 次[/green]")
