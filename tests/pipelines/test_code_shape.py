"""Functions a reader can hold at once: none in pipelines/ (nor the studio's run worker) longer than 80 lines.
ruff's complexity bound (15, pyproject.toml) covers branching; this covers length."""
from __future__ import annotations

import ast

from tests.conftest import REPO

LIMIT = 80


def long_functions(paths) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LIMIT:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_in_pipelines_is_longer_than_80_lines():
    paths = sorted((REPO / "pipelines").rglob("*.py")) + [REPO / "studio" / "runs" / "worker.py"]
    assert long_functions(paths) == []
