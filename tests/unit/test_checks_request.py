"""request.url: the answer to --url and the log lines that very request caused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizard.checks.request import request_url
from wizard.host.request import fresh_log_events
from wizard.outcome import DIRECT

LINE = ('2026/11/25 03:00:01 [crit] 11#11: *4 connect() to unix:/run/php/php8.2-fpm.sock '
        'failed (2: No such file or directory) while connecting to upstream, client: '
        '127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: '
        '"fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost"')


def record(**kw: Any) -> dict[str, Any]:
    base = {"url": "http://localhost/", "status": 502, "reason": "Bad Gateway",
            "error": None, "duration": 0.01, "log_events": []}
    return {**base, **kw}


def facts_for(recorded, rec: dict[str, Any]):  # type: ignore[no-untyped-def]
    facts = recorded({"url_request": rec})
    facts.options.url = rec["url"]
    return facts


def test_502_with_a_fresh_line_names_its_causes_directly(recorded, tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text("old line\n")
    offsets = {(str(log), "nginx"): log.stat().st_size}
    with log.open("a") as fh:
        fh.write(LINE + "\n")
    events = fresh_log_events(offsets, settle=0)
    assert [ev["signature"] for ev in events] == ["upstream_socket_missing"]
    result = request_url(facts_for(recorded, record(log_events=events)))
    assert result.result == "bad_gateway"
    assert result.causes[0] == "php_fpm_down" and result.confidence == DIRECT
    assert result.evidence[0].detail == "GET http://localhost/ -> 502 Bad Gateway"
    assert result.evidence[1].detail == f"{log}: {LINE}"


def test_502_without_a_readable_line_is_circumstantial(recorded) -> None:
    result = request_url(facts_for(recorded, record()))
    assert result.result == "bad_gateway" and result.causes == []
    assert "no error-log line" in result.summary


def test_other_answers(recorded) -> None:
    assert request_url(facts_for(recorded, record(status=200, reason="OK"))).result == "ok"
    assert request_url(facts_for(recorded, record(status=500))).result == "server_error"
    down = request_url(facts_for(recorded, record(status=None, error="connection refused")))
    assert down.result == "unreachable"
    assert down.evidence[0].detail == "GET http://localhost/ -> connection refused"


def test_skipped_without_url(recorded) -> None:
    assert request_url(recorded({})).result == "skipped"
