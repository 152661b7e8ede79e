"""`breach serve` starts cleanly or not at all: an address in use, an unusable data
directory or an unreachable database is one line naming the cause, exit status 2, no
traceback, and nothing left running or created."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.support import postgres


@pytest.fixture
def taken() -> Iterator[int]:
    """A loopback port another socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield other.getsockname()[1]


def one_line_refusal(result_err: str, cause: str) -> None:
    """The command printed one line, the refusal naming ``cause``, and no traceback."""
    lines = [line for line in result_err.splitlines() if line.strip()]
    assert len(lines) == 1, result_err
    assert lines[0].startswith(f"breach: error: {cause}")
    assert "Traceback" not in result_err


def test_a_port_in_use_stops_serve_before_anything_is_opened(tmp_path: Path, taken: int) -> None:
    """With the port taken, serve exits 2 with one line naming the port, before the data
    directory (and so any store, worker or capture server) was created."""
    cli = Cli(tmp_path / "var")
    result = cli("serve", "--port", str(taken))
    assert result.code == 2
    one_line_refusal(result.err, f"port: cannot listen on 127.0.0.1:{taken}: address already")
    assert not (tmp_path / "var").exists()


def test_a_data_directory_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    """A data directory under a regular file exits 2 naming BREACH_DATA_DIR, and the port it
    had bound is free again at once."""
    (tmp_path / "a-file").write_text("")
    cli = Cli(tmp_path / "a-file" / "var")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("serve", "--port", str(port))
    assert result.code == 2
    one_line_refusal(result.err, "BREACH_DATA_DIR:")
    assert "not a directory" in result.err
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))


def test_an_unreachable_database_is_one_line_for_serve_and_a_worker(tmp_path: Path) -> None:
    """A PostgreSQL URL nobody answers at stops serve and a worker with exit 2 and one line
    naming the database (never the password); the command returns at all only because no
    process it started still holds its output open."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    cli = Cli(tmp_path / "var")
    cli.env["BREACH_DATABASE_URL"] = f"postgresql://postgres:hunter2@127.0.0.1:{closed}/test"
    for command in (("serve", "--port", "0"), ("worker", "alerts")):
        result = cli(*command)
        assert result.code == 2, result.err
        one_line_refusal(result.err, f"database: PostgreSQL at 127.0.0.1:{closed}/test")
        assert "hunter2" not in result.out + result.err


def test_a_database_refusing_what_starting_needs_is_one_line_for_a_worker(
    tmp_path: Path,
) -> None:
    """A PostgreSQL role that may not create schemas, then one allowed two connections (the
    stores beside the log get theirs, the event store none): each time the worker exits 2
    with one line naming the database, not an internal error; a schema made for the role
    beforehand is used as it is."""
    role = f"breach_limited_{postgres.schema_name()}"
    with postgres.fresh_schema() as schema, postgres.connect() as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 2')
        try:
            cli = Cli(tmp_path / "var")
            cli.env.update(
                {
                    "BREACH_DATABASE_URL": f"postgresql://{role}@127.0.0.1:5432/test",
                    "BREACH_DATABASE_SCHEMA": schema,
                    **{f"BREACH_{k.upper()}": v for k, v in postgres.SECRETS.items()},
                }
            )
            result = cli("worker", "alerts")
            assert result.code == 2, result.err
            one_line_refusal(result.err, "database: PostgreSQL at 127.0.0.1:5432/test")
            assert f"cannot create the schema {schema}" in result.err
            admin.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{role}"')
            result = cli("worker", "alerts")
            assert result.code == 2, result.err
            one_line_refusal(result.err, "database: PostgreSQL at 127.0.0.1:5432/test")
            assert "event store got no connection" in result.err
        finally:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.execute(f'DROP ROLE "{role}"')
