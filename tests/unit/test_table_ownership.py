"""Each capability's tables are queried in SQL only by the capability that owns them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from services.bootstrap import projections

SERVICES = Path(__file__).resolve().parents[2] / "services"

OWNERS: dict[str, str] = {
    "board": "incidents",
    "board_tasks": "incidents",
    "board_obligations": "incidents",
    "tasks": "containment",
    "task_incidents": "containment",
    "obligations": "assessment",
    "obligation_decisions": "assessment",
    "obligation_incidents": "assessment",
    "campaigns": "notifications",
    "notices": "notifications",
    "notice_moves": "notifications",
    "messages": "notifications",
    "withheld": "notifications",
    "people": "people",
    "people_added": "people",
    "alerts": "alerts",
    "alert_recipients": "alerts",
    "alert_emails": "alerts",
}
"""Every capability table and the package under services/ that owns it."""

_TABLE = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE(?: IF NOT EXISTS| IF EXISTS)?)\s+\"?([A-Za-z_]\w*)",
    re.IGNORECASE,
)


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings (prose, not SQL)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
        else:
            continue
        for statement in body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                found.add(id(statement.value))
    return found


def foreign_references(root: Path) -> list[str]:
    """``path:line: table (owned by capability)`` for every SQL string in a module under
    ``root`` naming a table another capability owns."""
    out = []
    for path in sorted(root.rglob("*.py")):
        package = path.relative_to(root).parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if id(node) in skip:
                continue
            for table in _TABLE.findall(node.value):
                owner = OWNERS.get(table)
                if owner is not None and owner != package:
                    where = path.relative_to(root.parent)
                    out.append(f"{where}:{node.lineno}: {table} (owned by {owner})")
    return out


def test_no_module_queries_another_capabilitys_tables() -> None:
    """No SQL string in services/ names a table outside the package that owns it."""
    assert foreign_references(SERVICES) == []


def test_every_view_table_has_an_owner() -> None:
    """Each table a projection declares is in the owner map, under the package that
    declares it, so a new table cannot escape the check."""
    declared = {}
    for projection in projections():
        package = type(projection).__module__.split(".")[1]
        for table in projection.tables:
            declared[table.name] = package
    assert {name: OWNERS.get(name) for name in declared} == declared


def test_the_check_names_the_file_that_queries_a_foreign_table(tmp_path: Path) -> None:
    """A module that selects from another capability's table is reported with its path,
    line and the table's owner; its own tables, docstrings and prose are not."""
    root = tmp_path / "services"
    (root / "metrics").mkdir(parents=True)
    (root / "notifications").mkdir()
    (root / "metrics" / "collector.py").write_text(
        '"""Reads rows FROM notices in prose."""\n'
        "SQL = (\n"
        '    "SELECT status, COUNT(*) AS n "\n'
        '    "FROM notices GROUP BY status"\n'
        ")\n"
        'OTHER = f"SELECT * FROM {TABLE} JOIN tasks t ON t.incident_id = {KEY}"\n'
    )
    (root / "notifications" / "views.py").write_text('SQL = "SELECT * FROM notices"\n')
    assert foreign_references(root) == [
        "services/metrics/collector.py:3: notices (owned by notifications)",
        "services/metrics/collector.py:6: tasks (owned by containment)",
    ]
