"""The ``jinlin`` command: serve, worker, migrate, seed-demo, create-user, import-org, contracts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from backend.config import get_settings

app = typer.Typer(help="近邻 Jinlin：社区治理平台", no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)


def _run(coro, *, uvloop: bool = False):  # type: ignore[no-untyped-def]
    """Run ``coro`` to completion. Long-running processes ask for uvloop (uvicorn runs the API on it): less
    CPU per socket operation than the default loop; without uvloop installed, the default loop is used."""
    from backend.core.errors import AppError

    factory = None
    if uvloop:
        with contextlib.suppress(ImportError):
            import uvloop as _uvloop

            factory = _uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(coro)
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    except ValueError as exc:  # settings validation (e.g. placeholder secret in production)
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


async def _with_orm(fn, *args, fair_pool: bool = True, **kwargs):  # type: ignore[no-untyped-def]
    from tortoise.context import TortoiseContext

    from backend.core.db import tortoise_config
    from backend.core.migrate import ensure_sqlite_dir

    config = tortoise_config(get_settings(), fair_pool=fair_pool)
    ensure_sqlite_dir(config["connections"]["default"])
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        return await fn(*args, **kwargs)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="端口")] = None,
    workers: Annotated[int, typer.Option(help="进程数（SQLite 只能用 1）")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate", help="启动前先迁移数据库")] = False,
) -> None:
    """运行 API（以及 H5 页面）。"""
    import uvicorn

    settings = get_settings()
    if migrate_first:
        migrate()
    uvicorn.run(
        "backend.main:app_factory",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
        ws_per_message_deflate=False,
    )


@app.command()
def worker() -> None:
    """运行后台任务进程（发送通知、定时任务等）。"""
    from backend.core.bus import make_bus, set_bus
    from backend.core.logging import configure_logging
    from backend.outbox.worker import Worker

    settings = get_settings()
    configure_logging(settings.log_level, json_lines=settings.json_logs)

    async def main() -> None:
        bus = make_bus(settings.redis_url)
        set_bus(bus)
        w = Worker(settings, bus)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, w.stop)
        try:
            await _with_orm(w.run_forever, fair_pool=False)  # see tortoise_config
        finally:
            await bus.close()

    _run(main(), uvloop=True)


@app.command()
def migrate() -> None:
    """把数据库迁移到最新结构。"""
    from backend.core.migrate import apply_migrations

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            console.print(f"  已应用 {app_label}.{name}")

    _run(apply_migrations(get_settings(), progress=progress))
    console.print("[green]数据库已是最新结构[/green]")


@app.command("seed-demo")
def seed_demo() -> None:
    """生成演示数据（仿土门墩街道），并列出演示账号。可重复运行。"""
    from backend.demo.seed import seed

    if get_settings().env == "production":
        err.print("[red]生产环境不能生成演示数据[/red]")
        raise typer.Exit(2)
    summary = _run(_with_orm(seed, progress=console))
    table = Table(title="演示账号（密码均为 " + summary.password + "）")
    for column in ("角色", "姓名", "手机号", "所属"):
        table.add_column(column)
    for account in summary.accounts:
        table.add_row(account.role_label, account.name, account.phone, account.place)
    console.print(table)
    console.print(
        f"街道 1 个、社区 {summary.communities} 个、网格 {summary.grids} 个、小区 {summary.compounds} 个、"
        f"楼栋 {summary.buildings} 栋、住户 {summary.households} 户、人员 {summary.users} 人"
    )


@app.command("create-user")
def create_user(
    name: Annotated[str, typer.Option(help="姓名")],
    phone: Annotated[str, typer.Option(help="手机号")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    role: Annotated[str, typer.Option(help="角色，如 admin、street_staff")] = "admin",
    unit_id: Annotated[int | None, typer.Option(help="角色所在单位 id（admin 不需要）")] = None,
    department_id: Annotated[int | None, typer.Option(help="部门 id（department_staff 需要）")] = None,
) -> None:
    """创建一个可以用密码登录的账号（例如第一个管理员）。"""
    from pydantic import ValidationError

    from backend.users.bootstrap import create_user as do_create
    from backend.users.schemas import GrantIn, UserCreate

    try:
        body = UserCreate(
            name=name, phone=phone, password=password,
            grants=[GrantIn(role=role, org_unit_id=unit_id, department_id=department_id)],
        )
    except ValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]{'.'.join(map(str, e['loc']))}: {e['msg']}[/red]")
        raise typer.Exit(2) from exc
    user = _run(_with_orm(do_create, body))
    console.print(f"[green]已创建用户 #{user.id} {user.name}（{role}）[/green]")


@app.command("import-org")
def import_org(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv 或 .xlsx")]) -> None:
    """从 CSV / Excel 导入街道、社区、网格、小区、楼栋和住户；有错误则整份不导入并逐行列出。"""
    from backend.org import importer
    from backend.org import service as org_service

    try:
        rows, errors = importer.parse(importer.read_table(file.read_bytes(), file.name))
    except importer.ImportFileError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if errors:
        table = Table(title=f"{file.name}：{len(errors)} 处错误，未导入任何数据")
        table.add_column("行号", justify="right")
        table.add_column("问题")
        for e in errors:
            table.add_row(str(e.line), e.message)
        err.print(table)
        raise typer.Exit(1)
    with Progress(
        TextColumn("导入中"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("rows", total=len(rows))
        report = _run(_with_orm(
            org_service.import_rows, rows, actor_id=None, source=file.name,
            progress=lambda done: bar.update(task, completed=done),
        ))
    console.print(
        f"[green]完成：{report.rows} 行，新建单位 {report.units_created} 个，新增住户 "
        f"{report.households_created} 户，更新 {report.households_updated} 户[/green]"
    )


@app.command()
def contracts(output: Annotated[Path, typer.Option(help="写入的目录")] = Path("shared")) -> None:
    """生成前后端共用的契约：openapi.json、roles.json、org-levels.json（make openapi 调用）。"""
    from backend.contracts import write_all

    for path in write_all(output):
        console.print(f"已写入 {path}")


from backend.ledger.cli import ledger_cli  # noqa: E402 - sub-commands live with their domain

app.add_typer(ledger_cli, name="ledger")
from backend.visits.cli import visits_cli  # noqa: E402

app.add_typer(visits_cli, name="visits")
from backend.open311.cli import open311_cli  # noqa: E402

app.add_typer(open311_cli, name="open311")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
