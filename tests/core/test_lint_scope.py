"""The scoping house rule holds for backend/, and the lint does catch a violation."""

from __future__ import annotations

import subprocess
import sys


def test_backend_has_no_inline_org_filters(repo_root):
    result = subprocess.run([sys.executable, "scripts/lint_scope.py"], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_lint_flags_an_inline_filter(repo_root, tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("async def f(Report, g):\n    return await Report.filter(grid_id__in=[g]).all()\n")
    result = subprocess.run([sys.executable, "scripts/lint_scope.py", str(sample)], cwd=repo_root,
                            capture_output=True, text=True)
    assert result.returncode == 1 and "grid_id__in" in result.stdout
