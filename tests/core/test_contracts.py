"""Generated contracts: shared/ must match the code, and the migrations must match the models."""

from __future__ import annotations

import json

import subprocess
import sys

from backend.contracts import documents, render


def test_shared_contracts_are_up_to_date(repo_root):
    stale = [
        name for name, document in documents().items()
        if not (repo_root / "shared" / name).is_file()
        or (repo_root / "shared" / name).read_text(encoding="utf-8") != render(document)
    ]
    assert not stale, f"run `make openapi`: stale {stale}"


def test_operation_ids_are_stable_and_unique():
    spec = documents()["openapi.json"]
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert "auth-login_wechat" in ids and "users-get_me" in ids


def test_errors_are_declared_in_the_contract():
    spec = documents()["openapi.json"]
    wechat = spec["paths"]["/api/v1/auth/wechat"]["post"]["responses"]
    assert {"400", "403", "429", "502", "503"} <= set(wechat)
    assert "ErrorBody" in json.dumps(wechat)


def test_migrations_match_the_models(repo_root):
    # In a subprocess: initialising Tortoise rebinds the model classes process-wide.
    result = subprocess.run([sys.executable, "scripts/migrations.py", "check"], cwd=repo_root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
