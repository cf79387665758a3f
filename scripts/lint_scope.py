#!/usr/bin/env python3
"""House rule: org scoping happens in one place (backend/org/scope.py).

Flags any ORM call (``filter``/``exclude``/``get``/``get_or_none``/``exists``/``update``/``count``) in backend/
that passes a scoping column (street_id, community_id, grid_id, compound_id, with or without a
``__lookup``) as a keyword, outside backend/org/scope.py. Such a filter decides who sees what by itself instead
of going through ``Scope``. A line may opt out with a comment ``# scope: <why>`` when the column is used for
something other than visibility (e.g. a uniqueness check within one street).

Usage: python scripts/lint_scope.py [paths...]   (exit 1 when something is found)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

COLUMNS = {"street_id", "community_id", "grid_id", "compound_id"}  # building_id is also a household's FK
METHODS = {"filter", "exclude", "get", "get_or_none", "exists", "update", "count", "first"}
ALLOWED = {Path("backend/org/scope.py")}


def violations(path: Path, text: str) -> list[tuple[int, str]]:
    found = []
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in METHODS):
            continue
        for keyword in node.keywords:
            if keyword.arg and keyword.arg.split("__", 1)[0] in COLUMNS:
                line = lines[node.lineno - 1] if node.lineno - 1 < len(lines) else ""
                if "# scope:" not in line:
                    found.append((node.lineno, keyword.arg))
    return found


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    targets = [Path(a) for a in argv] or [root / "backend"]
    files = [p for t in targets for p in ([t] if t.is_file() else sorted(t.rglob("*.py")))]
    bad = 0
    for path in files:
        rel = path.resolve().relative_to(root) if path.resolve().is_relative_to(root) else path
        if rel in ALLOWED or "migrations" in rel.parts:
            continue
        for lineno, arg in violations(path, path.read_text(encoding="utf-8")):
            print(f"{rel}:{lineno}: filters on {arg!r} outside the scoping helper (use Scope, or mark '# scope: why')")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
