"""The collector's tuning at process start (backend/core/heap.py, docs/adr/0031)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from backend.config import Settings
from backend.core import heap


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_settle_sets_the_first_generation_and_keeps_the_older_ratios(thresholds) -> None:  # type: ignore[no-untyped-def]
    gc.set_threshold(700, 11, 12)
    heap.settle(12_345)
    assert gc.get_threshold() == (12_345, 11, 12)


def test_zero_keeps_cpythons_threshold(thresholds) -> None:  # type: ignore[no-untyped-def]
    gc.set_threshold(700, 10, 10)
    heap.settle(0)
    assert gc.get_threshold() == (700, 10, 10)


def test_settle_freezes_what_exists(thresholds) -> None:  # type: ignore[no-untyped-def]
    gc.unfreeze()
    survivor = [object()]  # a container alive before start-up ends, like a route table
    heap.settle(10_000)
    assert gc.get_freeze_count() > 0
    assert not any(o is survivor for o in gc.get_objects())  # frozen: in no generation the collector scans


def test_the_setting(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert Settings(_env_file=None).gc_threshold == 10_000
    monkeypatch.setenv("JINLIN_GC_THRESHOLD", "0")
    assert Settings(_env_file=None).gc_threshold == 0
    monkeypatch.setenv("JINLIN_GC_THRESHOLD", "-1")
    with pytest.raises(ValueError):
        Settings(_env_file=None)
