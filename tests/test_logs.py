"""Structured JSON logs: one JSON object a line, the request id, no exception messages."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from stemme.logs import JsonFormatter, configure_logging, request_id_var

SECRET = "fødselsnummer 01019912345 tilhører Kari Nordmann"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("stemme.test_logs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers[:] = []
    logger.propagate = True


def entries(stream: io.StringIO) -> list[dict[str, object]]:
    lines = stream.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def test_plain_entry(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    logger.info("started %s workers", 4)
    [entry] = entries(stream)
    assert entry["message"] == "started 4 workers"
    assert entry["level"] == "info"
    assert entry["logger"] == "stemme.test_logs"
    assert entry["request_id"] == "-"
    moment = datetime.fromisoformat(str(entry["time"]))
    assert moment.tzinfo is not None
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60
    assert "error" not in entry
    assert "stack" not in entry
    assert set(entry) == {"time", "level", "logger", "message", "request_id"}


@pytest.mark.parametrize(
    ("method", "level"),
    [("debug", "debug"), ("info", "info"), ("warning", "warning"), ("error", "error")],
)
def test_levels(capture: tuple[logging.Logger, io.StringIO], method: str, level: str) -> None:
    logger, stream = capture
    getattr(logger, method)("x")
    assert entries(stream)[0]["level"] == level


def test_request_id(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    token = request_id_var.set("req-4711")
    try:
        logger.info("inside a request")
    finally:
        request_id_var.reset(token)
    logger.info("outside")
    inside, outside = entries(stream)
    assert inside["request_id"] == "req-4711"
    assert outside["request_id"] == "-"


def test_extra_fields(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    logger.info(
        "request done",
        extra={"status": 200, "path": "/admin/users", "ms": 12.5, "when": when, "ids": [1, 2]},
    )
    [entry] = entries(stream)
    assert entry["status"] == 200
    assert entry["path"] == "/admin/users"
    assert entry["ms"] == 12.5
    assert entry["ids"] == [1, 2]
    assert entry["when"] == str(when)  # not JSON-native: written with str()
    for internal in ("args", "msg", "exc_info", "levelno", "pathname", "thread", "created"):
        assert internal not in entry


def test_non_ascii_stays_readable(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    logger.info("Tromsø og Måsøy", extra={"district": "Sør-Øst"})
    raw = stream.getvalue()
    assert "Tromsø og Måsøy" in raw
    assert "Sør-Øst" in raw
    assert entries(stream)[0]["district"] == "Sør-Øst"


def test_one_line_per_entry(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    logger.info("line one\nline two", extra={"note": "a\nb"})
    assert len(stream.getvalue().splitlines()) == 1
    [entry] = entries(stream)
    assert entry["message"] == "line one\nline two"


def _fail_deeply(depth: int) -> None:
    if depth == 0:
        raise ValueError(SECRET)
    _fail_deeply(depth - 1)


def test_exception_without_its_message(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    try:
        _fail_deeply(3)
    except ValueError:
        logger.exception("could not handle the request")
    raw = stream.getvalue()
    assert SECRET not in raw
    assert "01019912345" not in raw
    assert "Kari" not in raw
    [entry] = entries(stream)
    assert entry["message"] == "could not handle the request"
    assert entry["level"] == "error"
    assert entry["error"] == "ValueError"
    stack = entry["stack"]
    assert isinstance(stack, list)
    assert 1 <= len(stack) <= 8
    assert all(isinstance(frame, str) for frame in stack)
    assert stack[-1].split(" in ")[-1] == "_fail_deeply"
    assert "test_logs.py:" in stack[-1]


def test_long_stacks_are_cut_to_the_last_frames(
    capture: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = capture
    try:
        _fail_deeply(20)
    except ValueError:
        logger.exception("deep")
    [entry] = entries(stream)
    assert isinstance(entry["stack"], list)
    assert len(entry["stack"]) == 8


def test_exc_info_passed_explicitly(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    error = KeyError(SECRET)
    try:
        raise error
    except KeyError as exc:
        caught = exc
    logger.error("unhandled error", exc_info=caught)
    [entry] = entries(stream)
    assert entry["error"] == "KeyError"
    assert SECRET not in stream.getvalue()


def test_no_error_fields_without_an_exception(capture: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = capture
    logger.error("plain error", exc_info=False)
    [entry] = entries(stream)
    assert "error" not in entry
    assert "stack" not in entry


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    access = logging.getLogger("uvicorn.access")
    access_state = (access.handlers[:], access.propagate)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    access.handlers[:], access.propagate = access_state


@pytest.mark.usefixtures("restore_root")
def test_configure_logging() -> None:
    configure_logging("warning")
    root = logging.getLogger()
    assert root.level == logging.WARNING
    [handler] = root.handlers
    assert isinstance(handler.formatter, JsonFormatter)
    assert logging.getLogger("uvicorn.error").propagate is True
    assert logging.getLogger("uvicorn.access").propagate is False
    assert logging.getLogger("uvicorn").handlers == []
