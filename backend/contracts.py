"""Contracts both sides read, generated from the code (never hand-copied): the OpenAPI document and the role and
org-level tables. ``make openapi`` writes them to ``shared/``; a test fails when they are stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backend.config import Settings
from backend.models.org import ALLOWED_PARENTS, OrgLevel
from backend.models.user import Role


def openapi_document() -> dict[str, Any]:
    from backend.main import create_app

    # Development settings so the dev-login routes the H5 build uses are part of the contract.
    settings = Settings(env="development", h5_dir=None, _env_file=None)  # type: ignore[call-arg]
    return create_app(settings, with_lifespan=False).openapi()


def roles_table() -> list[dict[str, str]]:
    return [{"role": r.value, "label": r.label} for r in Role]


def levels_table() -> list[dict[str, Any]]:
    return [
        {
            "level": lv.value,
            "label": lv.label,
            "party_label": lv.party_label,
            "parents": [p.value for p in ALLOWED_PARENTS[lv] if p],
        }
        for lv in OrgLevel
    ]


def documents() -> dict[str, Any]:
    return {"openapi.json": openapi_document(), "roles.json": roles_table(), "org-levels.json": levels_table()}


def render(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in documents().items():
        path = folder / name
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written
