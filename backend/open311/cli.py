"""``jinlin open311 …``: issue, list and revoke the API keys Open311 clients file reports with. Mounted by
``backend/cli.py``. A key is printed once; only its hash is stored."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from backend.models.reports import Channel

open311_cli = typer.Typer(
    help="Open311：为第三方客户端发放 API 密钥", no_args_is_help=True, add_completion=False
)
console = Console()
err = Console(stderr=True)


async def _with_orm(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    from tortoise.context import TortoiseContext

    from backend.config import get_settings
    from backend.core.db import tortoise_config

    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(get_settings()))
        return await fn(*args, **kwargs)


def _run(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    from backend.core.errors import AppError

    try:
        return asyncio.run(_with_orm(fn, *args, **kwargs))
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc


@open311_cli.command("issue-key")
def issue_key(
    name: Annotated[str, typer.Option("--name", help="客户端单位名称（唯一），如 “12345 市民热线”")],
    community: Annotated[int, typer.Option("--community", help="上报归入的社区 id")],
    channel: Annotated[
        str, typer.Option("--channel", help="上报渠道：app（第三方应用）或 hotline（热线）")
    ] = "app",
    rotate: Annotated[bool, typer.Option("--rotate", help="作废该名称的旧密钥，发放新密钥")] = False,
) -> None:
    """发放 API 密钥（只显示这一次，请妥善转交）。"""
    from backend.open311 import service

    if channel not in ("app", "hotline"):
        err.print("[red]--channel 只能是 app 或 hotline[/red]")
        raise typer.Exit(2)
    client, key = _run(service.issue_key, name, community, channel=Channel(channel), rotate=rotate)
    console.print(
        f"[green]已为 {client.name} 发放 Open311 API 密钥（社区 {community}，渠道 {channel}）：[/green]"
    )
    print(key)
    err.print("密钥只显示这一次；系统只保存其哈希。")


@open311_cli.command("revoke")
def revoke(name: Annotated[str, typer.Option("--name", help="客户端单位名称")]) -> None:
    """立即停用某个客户端的密钥（已提交的上报不受影响）。"""
    from backend.open311 import service

    client = _run(service.revoke, name)
    console.print(f"[green]已停用 {client.name} 的密钥[/green]")


@open311_cli.command("list")
def list_clients() -> None:
    """列出客户端（不显示密钥，只显示前缀）。"""
    from backend.open311 import service

    table = Table("名称", "社区", "渠道", "密钥前缀", "状态")
    for client in _run(service.clients):
        table.add_row(
            client.name,
            client.community.name,
            client.channel,
            client.key_prefix,
            "启用" if client.is_active else "停用",
        )
    console.print(table)
