#!/usr/bin/env python3
"""Make and check migrations (``make migrations``, ``make check-migrations``).

``make``  runs Tortoise's autodetector and writes new migrations, then fixes two things Tortoise 1.1 gets wrong
          (see docs/adr/0003): CHECK constraints listed in a CreateModel's options are not emitted by CREATE
          TABLE, so they are moved into AddConstraint operations; and a migration that references another
          app's model gets a dependency on that app's latest migration.
``check`` exits 1 when the models have changes that no migration records (CI runs it).

It runs in its own process on an in-memory SQLite database: initialising Tortoise binds model classes to a
connection name process-wide, so this must not share a process with anything else.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def _writers():  # type: ignore[no-untyped-def]
    from tortoise.cli.cli import tortoise_cli_context
    from tortoise.migrations.autodetector import MigrationAutodetector

    from backend.config import Settings
    from backend.core.db import tortoise_config

    config = tortoise_config(Settings(_env_file=None), url="sqlite://:memory:")  # type: ignore[call-arg]
    apps = {label: {**app, "models": list(app["models"])} for label, app in config["apps"].items()}
    async with tortoise_cli_context(config) as ctx:
        return await MigrationAutodetector(ctx.apps, apps).changes()


_CHECKS = re.compile(r"'constraints': \[(.*?)\], ")
_CHECK_ITEM = re.compile(r"CheckConstraint\(check=(?P<check>'[^']*'|\"[^\"]*\"), name='(?P<name>[^']+)'\)")


def fix(path: Path, app_label: str, latest: dict[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    extra_ops: list[str] = []
    for match in re.finditer(r"ops\.CreateModel\(\n\s+name='(?P<model>\w+)',.*?bases=\[.*?\],\n\s+\),", text, re.S):
        block = match.group(0)
        found = _CHECKS.search(block)
        if not found:
            continue
        checks = _CHECK_ITEM.findall(found.group(1))
        if not checks:
            continue
        text = text.replace(block, block.replace(found.group(0), ""))
        for check, name in checks:
            extra_ops.append(
                f"        ops.AddConstraint(model_name='{match.group('model')}', "
                f"constraint=CheckConstraint(check={check}, name='{name}')),"
            )
    if extra_ops:
        text = text.replace("\n    ]\n", "\n" + "\n".join(extra_ops) + "\n    ]\n", 1)
    others = sorted({m for m in re.findall(r"ForeignKeyField\('(\w+)\.\w+'", text) if m != app_label} |
                    {m for m in re.findall(r"OneToOneField\('(\w+)\.\w+'", text) if m != app_label})
    needed = [(app, latest[app]) for app in others if app in latest]
    if needed:
        deps = re.search(r"    dependencies = \[(.*?)\]\n", text, re.S)
        current = deps.group(1) if deps else ""
        add = [f"('{a}', '{n}')" for a, n in needed if f"'{a}'" not in current]
        if add:
            if deps:
                joined = ", ".join(x for x in [current.strip().rstrip(","), *add] if x)
                text = text.replace(deps.group(0), f"    dependencies = [{joined}]\n")
            else:
                text = re.sub(r"(class Migration\(migrations\.Migration\):\n)", rf"\1    dependencies = [{', '.join(add)}]\n", text, 1)
    path.write_text(text, encoding="utf-8")


def latest_migrations() -> dict[str, str]:
    out = {}
    for folder in (ROOT / "backend" / "migrations").iterdir():
        names = sorted(p.stem for p in folder.glob("[0-9]*.py")) if folder.is_dir() else []
        if names:
            out[folder.name] = names[-1]
    return out


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "check":
        writers = asyncio.run(_writers())
        if writers:
            print("models changed without a migration:", ", ".join(f"{w.app_label}.{w.name}" for w in writers))
            print("run: make migrations")
            return 1
        print("migrations match the models")
        return 0
    if command == "make":
        writers = asyncio.run(_writers())
        if not writers:
            print("no changes")
            return 0
        before = latest_migrations()
        for writer in writers:
            path = Path(writer.write())
            fix(path, writer.app_label, before)
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
