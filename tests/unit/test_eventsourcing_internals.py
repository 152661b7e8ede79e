"""The few private members of eventsourcing that breachledger calls or overrides are the ones
eventsourcing 9.5 has, with the parameters and callers they were written against; any other
private member reached from events/ or services/ fails here, by name, until it is pinned.

eventsourcing offers no public hook for these: the PostgreSQL recorder must insert its
collision check inside the insert's own transaction, after the table lock and before a
position is drawn; the SQLite recorder inserts several writers' events in one transaction,
each in a savepoint (group commit); a view store applies events and moves its tracking
position in its own transaction; and the application saves a batch of aggregates without
the per-object checks of ``save``. Aggregates are created with ``_create`` and restored
from a trusted record with ``__base_init__``, as eventsourcing's documentation does for its
own base class.
Before moving to another eventsourcing version, re-read each pinned member.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import BaseAggregate
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteConnectionPool,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)

ROOT = Path(__file__).resolve().parents[2]
WRITTEN_FOR = "9.5."

PINNED: dict[tuple[type[Any], str], tuple[str, ...]] = {
    (PostgresAggregateRecorder, "_insert_stored_events"): ("self", "curs", "stored_events", "_"),
    (PostgresApplicationRecorder, "_insert_stored_events"): (
        "self",
        "curs",
        "stored_events",
        "kwargs",
    ),
    (PostgresApplicationRecorder, "_lock_table"): ("self", "curs"),
    (PostgresApplicationRecorder, "_notify_channel"): ("self", "curs"),
    (SQLiteTrackingRecorder, "_insert_tracking"): ("self", "c", "tracking"),
    (SQLiteProcessRecorder, "_insert_events"): ("self", "c", "stored_events", "kwargs"),
    (SQLiteConnectionPool, "_create_connection"): ("self",),
    (SQLiteTrackingRecorder, "_max_tracking_id"): ("self", "application_name", "c"),
    (Application, "_record"): ("self", "processing_event"),
    (Application, "_take_snapshots"): ("self", "processing_event"),
    (Application, "_notify"): ("self", "recordings"),
    (BaseAggregate, "_create"): ("cls", "event_class", "id", "kwargs"),
    (BaseAggregate, "__base_init__"): (
        "self",
        "originator_id",
        "originator_version",
        "timestamp",
    ),
}
"""Each private member used, on the eventsourcing class that defines it: its parameters."""


def _name(cls: type[Any], member: str) -> str:
    return f"{cls.__module__}.{cls.__qualname__}.{member}"


def test_eventsourcing_is_the_version_the_private_calls_were_written_for() -> None:
    """The installed eventsourcing is 9.5.x; another version fails naming every pinned
    private member to re-check."""
    version = metadata.version("eventsourcing")
    members = ", ".join(sorted(_name(cls, m) for cls, m in PINNED))
    assert version.startswith(WRITTEN_FOR), (
        f"eventsourcing {version} is installed; breachledger calls or overrides these private "
        f"members as eventsourcing 9.5 defines them: {members}"
    )


def test_every_pinned_private_member_exists_with_its_parameters() -> None:
    """Each pinned private member is defined by its class, with the same parameters."""
    problems = []
    for (cls, member), parameters in PINNED.items():
        found = cls.__dict__.get(member)
        if found is None:
            problems.append(f"{_name(cls, member)} is gone")
            continue
        if isinstance(found, classmethod | staticmethod):
            found = found.__func__
        names = tuple(inspect.signature(found).parameters)
        if names != parameters:
            problems.append(f"{_name(cls, member)} now takes {names}, not {parameters}")
    assert problems == []


def _calls(function: Any, *names: str) -> list[str]:
    source = inspect.getsource(function)
    return [name for name in names if f"self.{name}(" not in source]


def test_the_overridden_private_members_are_still_called_by_the_public_ones() -> None:
    """eventsourcing's own public methods still call the private members breachledger
    overrides or repeats: the recorder's insert, the tracking insert, and ``save``."""
    missing = {
        "PostgresApplicationRecorder.insert_events": _calls(
            PostgresApplicationRecorder.insert_events, "_insert_stored_events"
        ),
        "PostgresApplicationRecorder._insert_stored_events": _calls(
            PostgresApplicationRecorder._insert_stored_events, "_lock_table", "_notify_channel"
        ),
        "SQLiteAggregateRecorder.insert_events": _calls(
            SQLiteAggregateRecorder.insert_events, "_insert_events"
        ),
        "SQLiteTrackingRecorder.insert_tracking": _calls(
            SQLiteTrackingRecorder.insert_tracking, "_insert_tracking"
        ),
        "Application.save": _calls(Application.save, "_record", "_take_snapshots", "_notify"),
    }
    assert {k: v for k, v in missing.items() if v} == {}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for folder in ("events", "services"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, ast.parse(path.read_text())


def _eventsourcing_owner(mro: tuple[type[Any], ...], member: str) -> type[Any] | None:
    for cls in mro:
        if member in cls.__dict__:
            return cls if cls.__module__.startswith("eventsourcing") else None
    return None


def _private(member: str) -> bool:
    return member.startswith("_") and not (member.startswith("__") and member.endswith("__"))


def _reached(module: Any, node: ast.ClassDef) -> Iterator[tuple[type[Any], str]]:
    """The eventsourcing classes' private members a class of ours calls or overrides."""
    cls = getattr(module, node.name, None)
    if not isinstance(cls, type):
        return
    bases = cls.__mro__[1:]
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and _private(item.name):
            owner = _eventsourcing_owner(bases, item.name)
            if owner is not None:
                yield owner, item.name
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Attribute) or not _private(sub.attr):
            continue
        value = sub.value
        if isinstance(value, ast.Name) and value.id in ("self", "cls"):
            owner = _eventsourcing_owner(cls.__mro__, sub.attr)
        elif isinstance(value, ast.Call) and getattr(value.func, "id", None) == "super":
            owner = _eventsourcing_owner(bases, sub.attr)
        elif isinstance(value, ast.Name):
            named = getattr(module, value.id, None)
            owner = (
                _eventsourcing_owner(named.__mro__, sub.attr) if isinstance(named, type) else None
            )
        else:
            owner = None
        if owner is not None:
            yield owner, sub.attr


def test_no_other_private_eventsourcing_member_is_reached() -> None:
    """Every private eventsourcing member that a class in events/ or services/ calls or
    overrides (through self, super() or the class's name) is pinned above."""
    reached: set[tuple[type[Any], str]] = set()
    for name, tree in _modules():
        if "eventsourcing" not in ast.unparse(tree) and not name.startswith("events"):
            continue
        module = importlib.import_module(name)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                reached.update(_reached(module, node))
    unpinned = sorted(_name(cls, m) for cls, m in reached - set(PINNED))
    assert unpinned == [], f"private eventsourcing members to pin (or avoid): {unpinned}"
    assert (PostgresAggregateRecorder, "_insert_stored_events") in reached
