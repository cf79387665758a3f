"""The cyclic garbage collector, tuned once a process has started (API and outbox worker)."""

from __future__ import annotations

import gc


def settle(gen0_threshold: int) -> None:
    """Everything allocated so far (routes, schemas, ORM metadata, registries) lives as long as the process:
    move it out of the collector's sight, so that full collections stay short (one took ~80 ms under the
    notifications benchmark before). Then collect the first generation every ``gen0_threshold`` net
    container allocations instead of CPython's 700: nearly everything a request allocates is freed by
    reference counting, and at 700 the collector ran every few requests for ~7 % of a write's CPU
    (docs/adr/0031). 0 keeps CPython's threshold. The older generations keep their ratios."""
    gc.collect()
    gc.freeze()
    if gen0_threshold:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
