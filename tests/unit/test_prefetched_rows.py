"""Rows read ahead answer a transaction's reads as the database would after its writes."""

from __future__ import annotations

from services.projections.prefetched import PrefetchedRows
from services.projections.schema import Table

ROWS = Table("rows", {"id": "TEXT", "kind": "TEXT", "n": "INTEGER"}, key=("id",))


def ahead() -> PrefetchedRows:
    rows = PrefetchedRows({ROWS.name: ROWS})
    asked = rows.missing("rows", ["a", "b", "a"])
    assert asked == ["a", "b"]
    rows.found("rows", "id", asked, [{"id": "a", "kind": "x", "n": 1}])
    return rows


def test_rows_read_ahead_answer_reads_and_follow_writes() -> None:
    """A row read ahead, one found absent, and the writes since are all answered here;
    a read of a column not read ahead, or of another key, goes to the database."""
    rows = ahead()
    assert rows.get("rows", {"id": "a"}, ("kind",)) == (True, {"kind": "x"})
    assert rows.get("rows", {"id": "b"}, ()) == (True, None)
    assert rows.get("rows", {"id": "c"}, ()) == (False, None)
    rows.updated("rows", {"id": "a"}, {"n": 2})
    assert rows.get("rows", {"id": "a"}, ("n",)) == (True, {"n": 2})
    rows.upserted("rows", {"id": "b", "kind": "y"})
    assert rows.get("rows", {"id": "b"}, ()) == (True, {"id": "b", "kind": "y", "n": None})
    rows.deleted("rows", {"id": "a"})
    assert rows.get("rows", {"id": "a"}, ("n",)) == (True, None)
    assert rows.missing("rows", ["a", "b", "d"]) == ["d"]


def test_writes_not_by_the_key_or_moving_it_forget_what_was_read_ahead() -> None:
    """An update addressed by another column, or changing the key, and a delete by another
    column leave nothing read ahead: the next reads go to the database."""
    for write in (
        lambda rows: rows.updated("rows", {"kind": "x"}, {"n": 5}),
        lambda rows: rows.updated("rows", {"id": "a"}, {"id": "z"}),
        lambda rows: rows.deleted("rows", {"kind": "x"}),
    ):
        rows = ahead()
        write(rows)
        assert rows.get("rows", {"id": "a"}, ("n",)) == (False, None)
        assert rows.get("rows", {"id": "b"}, ()) == (False, None)
