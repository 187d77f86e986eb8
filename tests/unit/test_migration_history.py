"""Each migration's docstring names the revision it follows, as Alembic does."""

from __future__ import annotations

import ast
import re
from pathlib import Path

VERSIONS = Path(__file__).parents[2] / "hotline" / "store" / "migrations" / "versions"


def test_each_migration_says_the_revision_it_revises() -> None:
    for path in sorted(VERSIONS.glob("*.py")):
        tree = ast.parse(path.read_text())
        said = re.search(r"^Revises:(.*)$", ast.get_docstring(tree) or "", re.M)
        assert said is not None, path.name
        down = next(
            ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "down_revision" for t in node.targets)
        )
        assert said.group(1).strip() == (down or ""), path.name
