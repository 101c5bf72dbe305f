"""wizard/compat.py gives 3.9 what the code relies on from newer Pythons, with the same
results: run on 3.9 (nox), these exercise the stand-ins; on newer ones, the real names."""

from __future__ import annotations

import json
import socket
import typing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from wizard.compat import SOCKET_TIMEOUTS, UTC, fromisoformat, type_hints, zip_strict
from wizard.flow.schema import flow_schema
from wizard.outcome import Status


@pytest.mark.parametrize(("text", "wanted"), [
    # The ISO 8601 forms hosts write that datetime.fromisoformat reads only from 3.11 on.
    ("2024-11-24T10:00:00Z", datetime(2024, 11, 24, 10, tzinfo=UTC)),
    ("2024-11-24T10:00:00+0100", datetime(2024, 11, 24, 10, tzinfo=timezone(timedelta(hours=1)))),
    ("2024-11-24T08:00:00.500000123Z", datetime(2024, 11, 24, 8, 0, 0, 500000, UTC)),
    ("2024-11-24 10:00:00,25", datetime(2024, 11, 24, 10, 0, 0, 250000)),
    ("2024-11-24T10:00:00-05:00", datetime(2024, 11, 24, 10, tzinfo=timezone(-timedelta(hours=5)))),
    ("2024-11-24", datetime(2024, 11, 24)),
])
def test_fromisoformat_reads_what_311_reads(text: str, wanted: datetime) -> None:
    assert fromisoformat(text) == wanted
    assert fromisoformat(text).utcoffset() == wanted.utcoffset()


def test_fromisoformat_still_refuses_what_is_no_time() -> None:
    with pytest.raises(ValueError):
        fromisoformat("yesterday")


def test_zip_strict_pairs_equal_lengths_and_refuses_others() -> None:
    assert list(zip_strict("ab", [1, 2])) == [("a", 1), ("b", 2)]
    with pytest.raises(ValueError):
        list(zip_strict("abc", [1, 2]))
    with pytest.raises(ValueError):
        list(zip_strict("a", [1, 2]))


def test_status_is_its_value_as_text_and_in_json() -> None:
    assert str(Status.PROBLEM) == f"{Status.PROBLEM}" == "problem"
    assert Status("ok") is Status.OK and Status.OK == "ok"
    assert json.dumps({"status": Status.WARNING}) == '{"status": "warning"}'


def test_type_hints_reads_pipe_unions_as_unions() -> None:
    @dataclass
    class Sample:
        name: str | None
        sizes: dict[str, list[int]] | None = None

    hints = type_hints(Sample)
    assert typing.get_args(hints["name"]) == (str, type(None))
    assert typing.get_args(hints["sizes"]) == (dict[str, list[int]], type(None))


def test_flow_schema_reads_the_models_optional_fields() -> None:
    """The flow model says `str | None`; its JSON Schema says string or null."""
    schema = flow_schema()
    assert schema["$defs"]["Outcome"]["properties"]["next"]["anyOf"] == [
        {"type": "string"}, {"type": "null"}]


def test_a_socket_timeout_is_one_of_the_socket_timeouts() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.settimeout(0.01)
        with pytest.raises(SOCKET_TIMEOUTS):
            left.recv(1)
