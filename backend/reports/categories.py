"""The report taxonomy, kept as data in ``shared/report-categories.json`` and validated when the app starts.

Two levels: top categories (环境卫生, 市政设施 …) with a default handling level and per-level clocks, and their
sub-categories, which reports reference and which may override the level and any clock. A malformed file stops
the process at start with a message naming what is wrong, rather than failing one report at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from backend.models.reports import Level

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "shared" / "report-categories.json"
CODE = r"^[a-z][a-z0-9_]*$"


class ClockSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept_hours: Annotated[float, Field(gt=0, le=24 * 30)]
    resolve_days: Annotated[float, Field(gt=0, le=365)]


class PartialClock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept_hours: Annotated[float | None, Field(gt=0, le=24 * 30)] = None
    resolve_days: Annotated[float | None, Field(gt=0, le=365)] = None


class SubCategorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", max_length=40)]
    name: Annotated[str, Field(min_length=1, max_length=20)]
    default_level: Level | None = None
    clocks: dict[Level, PartialClock] = Field(default_factory=dict)


class CategorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(pattern=CODE, max_length=24)]
    name: Annotated[str, Field(min_length=1, max_length=20)]
    default_level: Level
    clocks: dict[Level, ClockSpec]
    children: Annotated[list[SubCategorySpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _complete(self) -> CategorySpec:
        missing = set(Level) - set(self.clocks)
        if missing:
            raise ValueError(f"{self.code}: clocks missing for {sorted(missing)}")
        for child in self.children:
            if not child.code.startswith(self.code + "."):
                raise ValueError(f"{child.code} must start with {self.code}.")
        return self


class TaxonomySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    about: str = ""
    auto_close_days: Annotated[float, Field(gt=0, le=90)]
    whistle_ack_hours: Annotated[float, Field(gt=0, le=24 * 7)]
    categories: Annotated[list[CategorySpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> TaxonomySpec:
        codes = [c.code for c in self.categories] + [s.code for c in self.categories for s in c.children]
        names = [c.name for c in self.categories]
        duplicates = {c for c in codes if codes.count(c) > 1} | {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"duplicate category codes or names: {sorted(duplicates)}")
        return self


@dataclass(frozen=True)
class Clocks:
    accept: timedelta
    resolve: timedelta


@dataclass(frozen=True)
class Category:
    """A sub-category as reports use it, with its top category and its resolved level and clocks."""

    code: str
    name: str
    top_code: str
    top_name: str
    default_level: Level
    clocks: dict[Level, Clocks]

    def clock(self, level: Level) -> Clocks:
        return self.clocks[Level(level)]


@dataclass(frozen=True)
class Taxonomy:
    spec: TaxonomySpec
    by_code: dict[str, Category]
    auto_close: timedelta
    whistle_ack: timedelta

    def get(self, code: str) -> Category | None:
        return self.by_code.get(code)

    def name_of(self, code: str) -> str:
        found = self.by_code.get(code)
        return found.name if found else code

    def top_name_of(self, code: str) -> str:
        for top in self.spec.categories:
            if top.code == code:
                return top.name
        return code


class TaxonomyError(RuntimeError):
    """The categories file is missing or malformed (raised at start)."""


def _build(spec: TaxonomySpec) -> Taxonomy:
    by_code: dict[str, Category] = {}
    for top in spec.categories:
        for child in top.children:
            clocks = {}
            for level in Level:
                base, override = top.clocks[level], child.clocks.get(level, PartialClock())
                clocks[level] = Clocks(
                    accept=timedelta(hours=override.accept_hours or base.accept_hours),
                    resolve=timedelta(days=override.resolve_days or base.resolve_days),
                )
            by_code[child.code] = Category(
                code=child.code,
                name=child.name,
                top_code=top.code,
                top_name=top.name,
                default_level=child.default_level or top.default_level,
                clocks=clocks,
            )
    return Taxonomy(
        spec=spec,
        by_code=by_code,
        auto_close=timedelta(days=spec.auto_close_days),
        whistle_ack=timedelta(hours=spec.whistle_ack_hours),
    )


def parse(text: str, *, source: str = "report-categories.json") -> Taxonomy:
    try:
        return _build(TaxonomySpec.model_validate(json.loads(text)))
    except (ValueError, ValidationError) as exc:
        raise TaxonomyError(f"{source} is not a valid report taxonomy: {exc}") from exc


def load(path: Path = DEFAULT_PATH) -> Taxonomy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaxonomyError(f"cannot read the report taxonomy at {path}: {exc}") from exc
    return parse(text, source=str(path))


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    """The taxonomy of this process (read once)."""
    return load()
