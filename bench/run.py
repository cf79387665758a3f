"""``make bench``: run every scenario in bench/scenarios (or those named), save results, rewrite BENCHMARKS.md."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
import time

import bench.scenarios
from bench.harness import save, write_markdown


def main(argv: list[str]) -> int:
    names = [m.name for m in pkgutil.iter_modules(bench.scenarios.__path__)]
    chosen = [n for n in names if not argv or n in argv]
    unknown = set(argv) - set(names)
    if unknown:
        print(f"unknown scenarios: {sorted(unknown)}; known: {names}")
        return 2
    failed = 0
    for name in chosen:
        module = importlib.import_module(f"bench.scenarios.{name}")
        print(f"== {name}", flush=True)
        started = time.monotonic()
        section = asyncio.run(module.run())
        path = save(section)
        for target in section.targets:
            print(f"   {target.what}: {target.value} -> {'met' if target.met else 'NOT met' if target.met is False else 'n/a'}")
            failed += target.met is False
        print(f"   saved {path} ({time.monotonic() - started:.0f}s)")
    print(f"wrote {write_markdown()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
