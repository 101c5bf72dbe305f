"""Fuzzing the error-log classifier and record splitter with hypothesis: arbitrary text
and bytes around real record shapes. No exception escapes, and a real record after
garbage is still found. FUZZ_EXAMPLES sets the number of examples (tests/README.md).

The record lines are typed by hand in nginx's and PHP-FPM's formats (ngx_log.c, zlog.c)."""

from __future__ import annotations

import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.explain import explain_stream
from wizard.signatures import classify, group_records, is_record_start, resync

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

RECORDS = {
    "upstream_refused": "2026/11/30 03:40:25 [error] 123#123: *5 connect() failed (111: "
                        "Connection refused) while connecting to upstream, client: 127.0.0.1, "
                        "server: _, request: \"GET / HTTP/1.1\", upstream: "
                        "\"http://127.0.0.1:8080/\", host: \"localhost\"",
    "phpfpm_max_children": "[30-Nov-2026 03:40:25] WARNING: [pool www] server reached "
                           "pm.max_children setting (5), consider raising it",
}
SHAPES = st.sampled_from([
    *sorted(RECORDS.values()), "2026/11/30 03:40:25 [", "nginx: [emerg] ",
    "[30-Nov-2026 03:40:25] PHP Fatal error:  ",
    ", client: ", 'FastCGI sent in stderr: "', "PHP message: ", "*1 ", "(111: ", "unix:/"])
# Text made of real record pieces and anything else, and bytes the same way.
TEXT = st.lists(st.one_of(SHAPES, st.text(max_size=40)), max_size=8).map("".join)
GARBAGE = st.binary(max_size=300).filter(lambda b: b"\n" not in b)


@FUZZ
@given(TEXT, st.booleans())
def test_classify_never_raises(text: str, lenient: bool) -> None:
    rec = classify(text, lenient=lenient)
    assert rec.signature is None or rec.causes is not None
    before, record = resync(text)
    assert before + record == text


@FUZZ
@given(st.lists(TEXT, max_size=12))
def test_record_splitter_keeps_every_line(lines: list[str]) -> None:
    lines = [line.replace("\n", " ") for line in lines]
    records = list(group_records(enumerate(lines, 1)))
    assert "\n".join(text for _n, text in records) == "\n".join(lines)
    for _n, text in records:
        classify(text)


@FUZZ
@given(GARBAGE, st.sampled_from(sorted(RECORDS)), st.binary(max_size=200))
def test_record_after_garbage_is_found(garbage: bytes, name: str, after: bytes) -> None:
    """Whatever comes before a record on its line (but another record's start), and
    whatever bytes follow it on later lines, the record is recognised."""
    line = garbage.decode("utf-8", errors="replace")
    if is_record_start(line, lenient=True) or resync(line)[0] or "{" in line:
        return  # the garbage itself starts a record or wraps the line (JSON)
    data = garbage + RECORDS[name].encode() + b"\n" + after
    entries = explain_stream(io.BytesIO(data))
    assert name in [e["signature"] for e in entries]
