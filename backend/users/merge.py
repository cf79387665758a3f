"""Merging a placeholder account into the real one (a resident who first used WeChat, then bound the phone
staff had registered for them). Domains that own per-user rows register a hook that moves them; hooks run in
the merge's transaction, so a merge is all or nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

MergeHook = Callable[[int, int], Awaitable[None]]
_hooks: list[MergeHook] = []


def on_user_merged(hook: MergeHook) -> MergeHook:
    """Register ``hook(from_user_id, to_user_id)``."""
    _hooks.append(hook)
    return hook


async def run_merge_hooks(from_user_id: int, to_user_id: int) -> None:
    for hook in _hooks:
        await hook(from_user_id, to_user_id)
