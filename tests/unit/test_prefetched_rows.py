"""Rows read ahead answer a transaction's reads as the database would after its writes."""

from __future__ import annotations

from typing import Any

from services.projections.prefetched import PrefetchedRows
from services.projections.schema import Row, Table

ROWS = Table("rows", {"id": "TEXT", "kind": "TEXT", "n": "INTEGER"}, key=("id",))


STORED = {"a": {"id": "a", "kind": "x", "n": 1}}


class Reads:
    """Reads rows from ``STORED``, remembering the keys each read asked for."""

    def __init__(self) -> None:
        self.asked: list[list[Any]] = []

    def __call__(self, key: str, columns: tuple[str, ...], keys: list[Any]) -> list[Row]:
        self.asked.append(keys)
        return [{c: STORED[k][c] for c in columns} for k in keys if k in STORED]


def ahead(reads: Reads | None = None) -> PrefetchedRows:
    reads = reads or Reads()
    rows = PrefetchedRows({ROWS.name: ROWS})
    rows.fill("rows", ["a", "b", "a"], ("kind", "n"), reads)
    assert reads.asked == [["a", "b"]]
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
    reads = Reads()
    rows.fill("rows", ["a", "b", "d"], ("kind", "n"), reads)
    assert reads.asked == [["d"]]
    assert rows.get("rows", {"id": "d"}, ()) == (True, None)


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
