"""Logged exceptions: a traceback in one field of one line, never the frames' variables, in
both formats and for structlog's loggers and the standard library's alike."""

from __future__ import annotations

import base64
import io
import json
import logging
import warnings
from pathlib import Path

import pytest
import structlog

from services.config import LogFormat, Settings
from services.logging import configure_logging

SECRET = bytes(range(200, 232))


def key_forms(key: bytes) -> list[str]:
    """The key written the ways a dump of variables would write it, and their first bytes."""
    forms = [key.hex(), base64.b64encode(key).decode(), repr(key), repr(key)[2:-1]]
    return forms + [f[:12] for f in forms]


def fail_holding(secret: bytes) -> None:
    """Raise while a local variable holds the secret (and another holds its hex)."""
    hexed = secret.hex()
    raise RuntimeError(f"the operation failed after {len(hexed)} characters")


def log_both(stdlib_name: str) -> None:
    """Log the same failure through structlog and through a standard library logger."""
    try:
        fail_holding(SECRET)
    except RuntimeError:
        structlog.get_logger().exception("command.failed")
        logging.getLogger(stdlib_name).exception("Exception in ASGI application")


@pytest.mark.parametrize("fmt", [LogFormat.JSON, LogFormat.CONSOLE])
def test_a_logged_exception_shows_its_traceback_and_no_variables(
    fmt: LogFormat, tmp_path: Path
) -> None:
    """Both loggers print the traceback (file, line, exception) and none of the secret a
    local variable held, nor any 'locals' panel."""
    out = io.StringIO()
    configure_logging(Settings(data_dir=tmp_path, log_format=fmt, log_level="info"), stream=out)
    log_both("uvicorn.error")
    text = out.getvalue()
    assert text.count("RuntimeError: the operation failed after 64 characters") == 2
    assert text.count("in fail_holding") == 2
    for form in key_forms(SECRET):
        assert form not in text
    assert "locals" not in text
    assert "hexed =" not in text


def test_json_logs_are_one_object_a_line_for_every_logger(tmp_path: Path) -> None:
    """In JSON every line parses, the traceback is a field, and standard library records
    (uvicorn's, asyncio's, a warning) carry the logger's name and level."""
    out = io.StringIO()
    configure_logging(
        Settings(data_dir=tmp_path, log_format=LogFormat.JSON, log_level="info"), stream=out
    )
    log_both("uvicorn.error")
    logging.getLogger("asyncio").warning("Executing %s took %.3f seconds", "<Task>", 0.25)
    logging.getLogger("kafka.conn").info("connected\nto broker 1")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("an old way", DeprecationWarning, stacklevel=1)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines[:4]] == [
        "command.failed",
        "Exception in ASGI application",
        "Executing <Task> took 0.250 seconds",
        "connected\nto broker 1",
    ]
    assert all("Traceback (most recent call last)" in line["exception"] for line in lines[:2])
    assert (lines[1]["logger"], lines[1]["level"]) == ("uvicorn.error", "error")
    assert (lines[2]["logger"], lines[2]["level"]) == ("asyncio", "warning")
    assert all("timestamp" in line for line in lines)
    assert len(lines) == 5
    assert "an old way" in lines[4]["event"]


def test_levels_below_the_setting_are_left_out_for_every_logger(tmp_path: Path) -> None:
    """At the warning level neither structlog's nor the standard library's info is written."""
    out = io.StringIO()
    configure_logging(Settings(data_dir=tmp_path, log_format=LogFormat.JSON), stream=out)
    structlog.get_logger().info("routine")
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("uvicorn.error").warning("something odd")
    assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["something odd"]


def test_configuring_again_replaces_the_previous_output(tmp_path: Path) -> None:
    """A second configuration sends the standard library's records to the new stream only."""
    first, second = io.StringIO(), io.StringIO()
    settings = Settings(data_dir=tmp_path, log_format=LogFormat.JSON)
    configure_logging(settings, stream=first)
    configure_logging(settings, stream=second)
    logging.getLogger("uvicorn.error").error("once")
    assert first.getvalue() == ""
    assert [json.loads(line)["event"] for line in second.getvalue().splitlines()] == ["once"]


def test_an_unexpected_failure_in_a_command_without_a_ledger_logs_no_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An offline check (only BREACH_AUDIT_KEY, no runtime built) that fails unexpectedly
    while the key is a local variable: status 1, a one-line error, a JSON traceback on
    standard error, and the key nowhere (structlog's own default would dump the frames)."""
    from services.cli import audit
    from services.cli.main import main

    def verify_failing(path: Path, key: bytes) -> None:
        fail_holding(key)

    folder = tmp_path / "bundle"
    folder.mkdir()
    monkeypatch.setattr(audit, "verify_bundle", verify_failing)
    monkeypatch.setenv("BREACH_AUDIT_KEY", base64.b64encode(SECRET).decode())
    monkeypatch.setenv("BREACH_DATA_DIR", str(tmp_path / "no-ledger"))
    structlog.reset_defaults()
    assert main(["audit", "verify", str(folder)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    logged, line = captured.err.splitlines()
    assert "RuntimeError: the operation failed" in json.loads(logged)["exception"]
    assert line == (
        "breach: error: internal error (RuntimeError); details are in the log, rerun with -v"
    )
    for form in key_forms(SECRET):
        assert form not in captured.out + captured.err
    assert "locals" not in captured.out + captured.err


def test_an_uncaught_exception_in_a_thread_is_one_json_line(tmp_path: Path) -> None:
    """A thread that dies of an exception is logged as one JSON line naming the thread, with
    the traceback as a field and none of its variables (not printed raw on stderr)."""
    import threading

    out = io.StringIO()
    configure_logging(Settings(data_dir=tmp_path, log_format=LogFormat.JSON), stream=out)
    thread = threading.Thread(target=fail_holding, args=(SECRET,), name="view-board")
    thread.start()
    thread.join()
    (line,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (line["event"], line["thread"], line["level"]) == (
        "thread.failed",
        "view-board",
        "error",
    )
    assert "RuntimeError: the operation failed" in line["exception"]
    for form in key_forms(SECRET):
        assert form not in out.getvalue()
