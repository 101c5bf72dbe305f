"""`explain` on text as people paste it: wrapped by journald, syslog, Docker, Kubernetes,
without nginx's date, capitalised, broken over several lines. The corpus cases run the
real CLI; the wrappers are also tested one by one, with the lines they must leave alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.compat import UTC, zip_strict
from wizard.log_wrappers import unwrap
from wizard.signatures import classify

CORPUS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "data" / "explain_pasted.yaml").read_text(
        encoding="utf-8"))["cases"]
FORMATS = {"journald", "syslog", "docker-compose", "docker-json", "kubectl", "cri",
           "headerless", "wrapped", "capitalised"}
CONTRACT = {"line", "text", "signature", "causes", "explanation"}


def explain(text: str) -> list[dict[str, Any]]:
    """The entries `python -m wizard explain --format json -` gives for `text` on stdin."""
    done = subprocess.run([sys.executable, "-m", "wizard", "explain", "--format", "json", "-"],
                          input=text.encode(), capture_output=True, timeout=60, check=False,
                          env={**os.environ, "TZ": "UTC"})
    assert done.returncode == 0, done.stderr.decode()
    entries: list[dict[str, Any]] = json.loads(done.stdout)["entries"]
    return entries


def recognised(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["signature"], e["causes"][0]) for e in entries if e["signature"]]


# --- the corpus -------------------------------------------------------------------------

def test_corpus_covers_every_format_and_names_its_sources() -> None:
    assert len(CORPUS) >= 20
    assert len({c["name"] for c in CORPUS}) == len(CORPUS)
    real = [c for c in CORPUS if str(c["source"]).startswith("https://")]
    assert len(real) >= 12
    for case in CORPUS:
        if case in real:
            assert "anonymised" in case, case["name"]  # says what was changed, if anything
        else:
            assert case["source"].startswith("hand-typed (shape of "), case["name"]
        assert case["expect"], case["name"]
    assert {c["format"] for c in CORPUS} >= FORMATS


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: str(c["name"]))
def test_pasted_case_gets_its_signatures_and_causes(case: dict[str, Any]) -> None:
    entries = explain(case["text"])
    physical = case["text"].replace("\r\n", "\n").split("\n")
    for e in entries:
        assert set(e) >= CONTRACT
        # the record as given, wrappers and all, starting at its first physical line
        lines = e["text"].split("\n")
        assert physical[e["line"] - 1: e["line"] - 1 + len(lines)] == lines
    found = [e for e in entries if e["signature"]]
    assert recognised(entries) == [(x["signature"], x["cause"]) for x in case["expect"]]
    for entry, wanted in zip_strict(found, case["expect"]):
        assert entry["explanation"]
        if "lines" in wanted:
            assert entry["text"].count("\n") + 1 == wanted["lines"]
        if "wrapper" in case:
            assert entry["wrappers"][0] == case["wrapper"]
    if "entries" in case:
        assert len(entries) == case["entries"]


# --- the wrappers one by one ------------------------------------------------------------

NGINX = ('2024/11/24 10:00:00 [error] 7#7: *5 connect() failed (111: Connection refused) '
         'while connecting to upstream, client: 192.0.2.4, server: _, request: "GET /a|b '
         'HTTP/1.1", upstream: "http://127.0.0.1:8080/", host: "localhost"')
FPM = "[24-Nov-2024 10:00:00] WARNING: [pool www] server reached pm.max_children setting (5)"
NOW = datetime(2025, 1, 1, 12, 0, 0)

WRAPPED = [
    # (line, wrappers, source, collector's time as UTC ISO or None)
    (f"Nov 24 10:00:00 web1 nginx[123]: {NGINX}", ("syslog",), "nginx", None),
    (f"Nov 24 10:00:00.123456 web1 nginx[123]: {NGINX}", ("syslog",), "nginx", None),
    (f"2024-11-24T10:00:00+0100 web1 nginx[123]: {NGINX}", ("syslog",), "nginx",
     "2024-11-24T09:00:00+00:00"),
    (f"Sun 2024-11-24 10:00:00 CET web1 nginx[123]: {NGINX}", ("syslog",), "nginx", None),
    (f"daemon.err: Nov 24 10:00:00 relay web1 nginx: {NGINX}", ("syslog",), "nginx", None),
    (f"<11>1 2024-11-24T10:00:00.000Z web1 nginx - - - {NGINX}", ("syslog-rfc5424",), "nginx",
     "2024-11-24T10:00:00+00:00"),
    (f"web_1  | {NGINX}", ("docker-compose",), "web_1", None),
    (f"web-1  | {NGINX}", ("docker-compose",), "web-1", None),
    (f"\x1b[36mweb-1  | \x1b[0m{NGINX}", ("docker-compose",), "web-1", None),
    (f"\x1b[36mweb_1  |\x1b[0m {NGINX}", ("docker-compose",), "web_1", None),
    (f"proxy | {NGINX}", ("docker-compose",), "proxy", None),
    (json.dumps({"log": NGINX + "\n", "stream": "stderr",
                 "time": "2024-11-24T10:00:00.123456789Z"}), ("docker-json",), None,
     "2024-11-24T10:00:00.123456+00:00"),
    (f"2024-11-24T10:00:00.123456789Z {NGINX}", ("timestamp",), None,
     "2024-11-24T10:00:00.123456+00:00"),
    (f"[pod/web-7d9f/nginx] {NGINX}", ("kubectl-prefix",), "pod/web-7d9f/nginx", None),
    (f"[pod/web-7d9f/nginx] 2024-11-24T10:00:00Z {NGINX}", ("kubectl-prefix", "timestamp"),
     "pod/web-7d9f/nginx", "2024-11-24T10:00:00+00:00"),
    (f"2024-11-24T10:00:00.123456789Z stderr F {NGINX}", ("cri",), None,
     "2024-11-24T10:00:00.123456+00:00"),
    (f"> web_1  | 2024-11-24T10:00:00Z {NGINX}", ("quote", "docker-compose", "timestamp"),
     "web_1", "2024-11-24T10:00:00+00:00"),
]


@pytest.mark.parametrize(("line", "wrappers", "source", "when"), WRAPPED,
                         ids=[w[1][-1] + str(i) for i, w in enumerate(WRAPPED)])
def test_each_wrapper_gives_back_the_programs_line(line: str, wrappers: tuple[str, ...],
                                                   source: str | None, when: str | None) -> None:
    found = unwrap(line, now=NOW)
    assert found.inner == NGINX
    assert found.wrappers == wrappers
    assert found.source == source
    if when is not None:
        assert found.time is not None and found.time.astimezone(UTC).isoformat() == when
    assert not found.partial and not found.noise


def test_php_fpm_lines_come_out_of_the_same_wrappers() -> None:
    for line in (f"php_1  | {FPM}", f"Nov 24 10:00:00 web1 php-fpm[9]: {FPM}",
                 f"2024-11-24T10:00:00Z stdout F {FPM}",
                 json.dumps({"log": FPM + "\n", "stream": "stderr"})):
        assert unwrap(line).inner == FPM


NOT_WRAPPED = [
    NGINX,  # contains " | "-like text inside a quoted request
    FPM,
    "cat error.log | grep upstream",  # a shell pipe is not compose output
    "step 1 | step 2",
    '{"level":"error","msg":"connect() failed (111: Connection refused)"}',  # no "log"
    '{"log": "2024/11/24 10:00:00 [error] 7#7: unfinished',  # not JSON
    "{ this is not json }",
    "[error] 7#7: *5 no live upstreams while connecting to upstream",  # not a pod prefix
    "2024-11-24 10:00:00 an application's own line",  # no "T", no zone: not RFC 3339
    "Nov 24 the meeting about the outage",  # a date, but no time, host and tag
    "192.0.2.4 - - [24/Nov/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"curl\"",
]


@pytest.mark.parametrize("line", NOT_WRAPPED)
def test_lines_that_only_look_alike_are_left_as_they_are(line: str) -> None:
    found = unwrap(line, now=NOW)
    assert (found.inner, found.wrappers, found.time) == (line, (), None)


def test_journalctl_notes_are_not_log_lines() -> None:
    for line in ("-- Logs begin at Mon 2024-11-18 09:00:01 CET, end at Sun 2024-11-24 "
                 "10:05:00 CET. --", "-- Boot 0123456789abcdef0123456789abcdef --",
                 "-- No entries --", "\u2591\u2591 Subject: A start job for unit nginx"):
        assert unwrap(line).noise


def test_syslog_time_without_a_year_is_the_latest_not_in_the_future() -> None:
    late = unwrap("Dec 31 23:59:59 web1 nginx[1]: x", now=NOW).time
    early = unwrap("Jan  1 00:00:01 web1 nginx[1]: x", now=NOW).time
    assert late == datetime(2024, 12, 31, 23, 59, 59)
    assert early == datetime(2025, 1, 1, 0, 0, 1)
    assert unwrap("gen 03 10:46:17 web1 nginx[1]: x", now=NOW).time is None  # Italian month
    assert unwrap("gen 03 10:46:17 web1 nginx[1]: x", now=NOW).inner == "x"


def test_partial_lines_are_marked_only_where_the_runtime_split_them() -> None:
    assert unwrap("2024-11-24T10:00:00Z stderr P first half").partial
    assert not unwrap(json.dumps({"log": "no newline at the end"})).partial  # a person's
    assert unwrap(json.dumps({"log": "x" * 16384})).partial  # Docker's 16 KiB pieces


# --- what the CLI makes of them ---------------------------------------------------------

def test_collectors_time_stands_in_for_a_missing_one_and_the_programs_wins() -> None:
    # TZ=UTC in explain(): nginx's naive time is read as UTC there
    cri, json_line = explain(
        "2024-11-24T08:00:00.5Z stderr F WARNING: [pool www] server reached "
        "pm.max_children setting (5), consider raising it\n"
        + json.dumps({"log": NGINX + "\n", "stream": "stderr",
                      "time": "2024-11-24T09:59:59Z"}) + "\n")
    assert cri["signature"] == "phpfpm_max_children"
    assert datetime.fromisoformat(cri["time"]) == datetime(2024, 11, 24, 8, 0, 0, 500000, UTC)
    assert datetime.fromisoformat(json_line["time"]) == datetime(2024, 11, 24, 10, 0, 0,
                                                                 tzinfo=UTC)
    assert json_line["wrappers"] == ["docker-json"]


def test_colour_codes_are_kept_in_the_text_but_not_in_the_way() -> None:
    line = f"\x1b[36mweb-1  | \x1b[0m{NGINX}"
    (entry,) = explain(line + "\n")
    assert entry["text"] == line
    assert entry["signature"] == "upstream_refused" and entry["source"] == "web-1"


def test_lines_after_a_record_stay_apart_unless_they_visibly_continue_it() -> None:
    cut = ('2024/11/24 10:00:00 [error] 7#7: *5 upstream timed out (110: Connection timed '
           'out) while reading response header from upstream, client: 192.0.2.4, server: x')
    entries = explain("\n".join([
        NGINX,  # complete: ends with its host
        "while I was at it I restarted nginx",  # "while" but no nginx action after it
        cut,  # cut by the person, not by a terminal
        "connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) "
        "while connecting to upstream",  # a message of its own
        "192.0.2.4 - - [24/Nov/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 502 157 \"-\" \"-\"",
        "web_1  | " + cut,
        "php_1  | , request: \"GET / HTTP/1.1\"",  # another container's line
    ]) + "\n")
    assert [e["line"] for e in entries] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["signature"] for e in entries] == [
        "upstream_refused", None, "upstream_timed_out_reading", "upstream_socket_missing",
        None, "upstream_timed_out_reading", None]


def test_a_record_cut_inside_a_quoted_value_is_put_back_together() -> None:
    (entry,) = explain(
        '2024/11/24 10:00:00 [error] 7#7: *5 connect() failed (111: Connection refused) '
        'while connecting to upstream, client: 192.0.2.4, server: _, request: "GET / HTT\n'
        'P/1.1", upstream: "http://127.0.0.1:8080/", host: "localhost"\n')
    assert entry["fields"]["request"] == "GET / HTTP/1.1"
    assert entry["fields"]["upstream"] == "http://127.0.0.1:8080/"
    assert entry["causes"][0] == "upstream_down"  # an http upstream: not PHP-FPM


def test_text_report_of_pasted_lines_fits_80_columns() -> None:
    case = next(c for c in CORPUS if c["name"] == "page-wrapped-refused")
    done = subprocess.run([sys.executable, "-m", "wizard", "explain", "-"],
                          input=case["text"].encode(), capture_output=True, timeout=60,
                          check=False)
    out = done.stdout.decode()
    assert done.returncode == 0 and "1 of 1 record(s) recognised." in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_host_logs_are_still_read_strictly() -> None:
    # wizard/host/errorlog.py classifies without `lenient`: a line without nginx's date
    # or with other capitals is not taken for a record there.
    headerless = "[error] 7#7: *5 no live upstreams while connecting to upstream"
    assert (classify(headerless).log, classify(headerless).level) == (None, None)
    assert classify(headerless, lenient=True).log == "nginx"
    capital = "2024/11/24 10:00:00 [error] 7#7: *5 No live upstreams while connecting"
    assert classify(capital).signature is None
    assert classify(capital, lenient=True).signature is not None
