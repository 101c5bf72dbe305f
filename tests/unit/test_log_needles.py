"""Needles (wizard/log_needles.py): the fixed strings that `explain` and the classifier
look for before they try a pattern. A needle that a real record lacks would hide that
record, so every record of the corpus must hold one of its own signature's needles."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from wizard.log_needles import needles
from wizard.signatures import BY_NAME, all_needles

CORPUS = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "data" / "explain_corpus.yaml").read_text())


@pytest.mark.parametrize("entry", CORPUS["entries"], ids=lambda e: e["signature"] or "none")
def test_every_corpus_record_holds_a_needle_of_its_signature(entry: dict[str, Any]) -> None:
    if entry["signature"] is None:
        return
    found = needles(BY_NAME[entry["signature"]].pattern.pattern, re.S)
    assert found is None or any(n in entry["text"].lower() for n in found), found


def test_needles_come_from_what_every_match_goes_through() -> None:
    assert needles(r"connect\(\) (?:to \S+ )?failed \(\d+: Connection refused\)") == (
        ": connection refused)",)
    assert needles(r"(?:No route to host|Host is down)") == ("no route to host",
                                                             "host is down")
    assert needles(r"(?:ab|Host is down) x") is None  # one branch has no long needle
    assert needles(r"(?:optional words)? \d+") is None  # an optional part proves nothing


def test_the_catalogue_has_a_needle_for_every_signature() -> None:
    # Otherwise explain would have to classify every line of a huge log.
    assert all_needles()
