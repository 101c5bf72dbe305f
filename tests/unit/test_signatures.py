"""The signature catalogue against a corpus of real nginx / PHP-FPM message formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.causes import CAUSES
from wizard.signatures import BY_NAME, SIGNATURES, classify, group_records

CORPUS = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "data" / "explain_corpus.yaml").read_text())
ENTRIES: list[dict[str, Any]] = CORPUS["entries"]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: str(e["signature"]))
def test_corpus_entry_is_classified_as_expected(entry: dict[str, Any]) -> None:
    rec = classify(entry["text"])
    assert (rec.signature.name if rec.signature else None) == entry["signature"]
    assert rec.causes == entry["causes"]
    for key, expected in (entry.get("fields") or {}).items():
        got = rec.level if key == "level" else rec.fields.get(key)
        assert got == expected, key


def test_every_signature_has_a_corpus_entry() -> None:
    covered = {e["signature"] for e in ENTRIES}
    assert set(BY_NAME) - covered == set()


def test_causes_are_contract_ids_and_names_are_unique() -> None:
    assert len(BY_NAME) == len(SIGNATURES)
    for sig in SIGNATURES:
        assert set(sig.causes) <= set(CAUSES), sig.name
        assert sig.explanation and sig.origin, sig.name


def test_nginx_record_header_gives_time_level_and_pid() -> None:
    rec = classify(ENTRIES[0]["text"])
    assert rec.log == "nginx"
    assert rec.time is not None and rec.time.isoformat() == "2024-05-01T10:00:00"
    assert rec.fields["pid"] == 1234 and rec.fields["connection"] == 5


def test_phpfpm_time_does_not_depend_on_the_locale() -> None:
    rec = classify("[07-Dec-2023 23:59:58] WARNING: [pool www] server reached "
                   "pm.max_children setting (5), consider raising it")
    assert rec.time is not None and rec.time.isoformat() == "2023-12-07T23:59:58"


def test_same_text_inside_a_php_message_is_not_taken_for_nginx_own_error() -> None:
    # The PHP message quotes an nginx-like text; the record is still a PHP message.
    rec = classify('2024/05/01 10:00:00 [error] 1#1: *1 FastCGI sent in stderr: "PHP '
                   'message: connect() to unix:/x.sock failed (2: No such file or '
                   'directory)" while reading response header from upstream, client: '
                   '127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: '
                   '"fastcgi://127.0.0.1:9000", host: "x"')
    assert rec.signature is not None and rec.signature.name == "fastcgi_php_message"


def test_multi_line_php_message_is_one_record_and_next_header_starts_another() -> None:
    lines = [
        '2024/05/01 10:00:00 [error] 1#1: *1 FastCGI sent in stderr: "PHP message: one',
        "PHP message: two",
        'three" while reading response header from upstream, client: 1.2.3.4, server: _',
        "a stray line after a closed record",
        "[01-May-2024 10:00:01] NOTICE: ready to handle connections",
    ]
    records = list(group_records(enumerate(lines, 1)))
    assert [n for n, _ in records] == [1, 4, 5]
    assert records[0][1].count("\n") == 2
