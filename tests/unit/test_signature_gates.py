"""The classifier turns away the records no pattern matches in one of two ways: by the
needles alone (the first records of a kind, as a diagnosis reads a few) or by the prefilter
that joins every pattern in one regex (the records after them, as `explain` reads a whole
log). Either way a record must get the same signature, causes and fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard import signatures
from wizard.signatures import classify

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = [e["text"] for e in yaml.safe_load((DATA / "explain_corpus.yaml").read_text())
          ["entries"]]
PASTED = [line for case in yaml.safe_load((DATA / "explain_pasted.yaml").read_text())["cases"]
          for line in case["text"].splitlines() if line.strip()]
# Lines that hold a needle of some pattern and still match none, and lines outside ASCII
# (which the needles cannot gate: they always go through the prefilter).
NEAR_MISSES = [
    "2024/05/01 10:00:00 [error] 12#12: *1 connect() failed (111: Connection refused)",
    "2024/05/01 10:00:00 [error] 12#12: *1 upstream timed out while reading the docs",
    '2024/05/01 10:00:00 [error] 12#12: *1 open() "/var/www/x" failed (2: No such file '
    'or directory), client: 203.0.113.7, server: example.com',
    "[01-May-2024 10:00:00] WARNING: [pool www] server reached nothing at all",
    "2024/05/01 10:00:00 [error] 12#12: *1 connect() failed (111: Connexion refusée) while "
    "connecting to upstream, client: 203.0.113.7, upstream: \"http://127.0.0.1:9/é\"",
    "2024/05/01 10:00:00 [crit] 12#12: *1 connect() to unix:/run/php/é.sock failed "
    "(2: No such file or directory) while connecting to upstream",
]


def _named(text: str, lenient: bool) -> dict[str, Any]:
    rec = classify(text, lenient=lenient)
    return {"signature": rec.signature.name if rec.signature else None,
            "causes": rec.causes, "fields": rec.fields, "log": rec.log, "level": rec.level}


def _all_named(monkeypatch: pytest.MonkeyPatch, prefilter_after: int,
               lenient: bool) -> list[dict[str, Any]]:
    monkeypatch.setattr(signatures, "PREFILTER_AFTER", prefilter_after)
    monkeypatch.setattr(signatures, "_unfiltered", {})
    return [_named(text, lenient) for text in CORPUS + PASTED + NEAR_MISSES]


@pytest.mark.parametrize("lenient", [False, True], ids=["log", "pasted"])
def test_needles_alone_name_every_record_as_the_prefilter_does(
        monkeypatch: pytest.MonkeyPatch, lenient: bool) -> None:
    by_prefilter = _all_named(monkeypatch, 0, lenient)
    by_needles = _all_named(monkeypatch, 10 ** 9, lenient)
    assert by_needles == by_prefilter
    assert sum(1 for named in by_needles if named["signature"]) >= len(CORPUS) // 2


def test_the_prefilter_takes_over_after_the_first_records(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signatures, "PREFILTER_AFTER", 3)
    monkeypatch.setattr(signatures, "_unfiltered", {})
    names = [_named(text, lenient=False)["signature"] for text in CORPUS[:6]]
    assert names == [e["signature"] for e in yaml.safe_load(
        (DATA / "explain_corpus.yaml").read_text())["entries"][:6]]
    assert signatures._unfiltered == {("nginx", False): 3}
