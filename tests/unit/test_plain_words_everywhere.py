"""Everything a person reads says things in words: no cause id, fix action name, check id
or log-signature name in the text and Markdown reports, in the words of the steps the
screens show (titles, summaries, texts, evidence, fix titles, notes, why a fix is not
offered), for real breakages recorded in snapshots. The ids stay in the JSON and the
transcript's own fields (CONTRACTS.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wizard.causes import CAUSES
from wizard.checks import REGISTRY
from wizard.checks import load_all as load_checks
from wizard.fixes import ACTIONS
from wizard.fixes import load_all as load_fixes
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.signatures import BY_NAME

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = [*sorted((REPO / "tests" / "unit" / "data" / "snapshots").glob("*.json")),
             REPO / "tests" / "tui" / "data" / "nginx-stopped.json"]
# The words of a step a person reads, and of each fix offered in it.
STEP_WORDS = ("title", "question", "summary", "text")
FIX_WORDS = ("title", "verify", "notes", "unavailable")


def internal_names() -> list[str]:
    load_checks()
    load_fixes()
    return sorted({*CAUSES, *ACTIONS, *BY_NAME, *REGISTRY})


def named(text: str, names: list[str]) -> list[str]:
    """The internal names that stand as a word of their own in the text (so that
    'request_terminate_timeout' does not count as containing a shorter id)."""
    return [n for n in names if re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w-])", text)]


def diagnose(snapshot: Path, fmt: str, transcript: Path) -> str:
    """The real CLI on a recorded snapshot, asked about the address it was recorded for."""
    data = json.loads(snapshot.read_text(encoding="utf-8"))
    url = (data.get("options") or {}).get("url")
    argv = [sys.executable, "-m", "wizard", "diagnose", "--from-snapshot", str(snapshot),
            "--format", fmt, "--transcript", str(transcript), *(["--url", url] if url else [])]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                          cwd=REPO)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def read_words(transcript: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, words) of every text of the walk that a screen shows."""
    for step in transcript["steps"]:
        for key in STEP_WORDS:
            yield f"{step['node']}.{key}", str(step.get(key) or "")
        for ev in step.get("evidence") or []:
            yield f"{step['node']}.evidence", ev["detail"]
        for item in step.get("history") or []:
            yield f"{step['node']}.history", f"{item['detail']} {item['why']}"
        for offer in step.get("fixes") or []:
            plan = offer.get("plan") or {}
            for key in FIX_WORDS:
                value = offer.get(key) if key == "unavailable" else plan.get(key)
                yield f"{step['node']}.fix.{key}", json.dumps(value or "")


@pytest.mark.parametrize("fmt", ["text", "markdown"])
@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_the_report_says_no_internal_name(snapshot: Path, fmt: str, tmp_path: Path) -> None:
    names = internal_names()
    report = diagnose(snapshot, fmt, tmp_path / "t.json")
    assert "Steps" in report
    assert named(report, names) == [], report
    saved = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    leaks = [(where, words) for where, words in read_words(saved["transcript"])
             if named(words, names)]
    assert leaks == []
    # ...while the report saved beside the walk (the --format json shape) keeps the ids
    assert saved["report"]["causes"], "every recorded breakage has a cause"
    assert {c["id"] for c in saved["report"]["causes"]} <= set(CAUSES)


def recorded(snapshot: Path) -> Facts:
    data = json.loads(snapshot.read_text(encoding="utf-8"))
    return Facts.from_snapshot(data, Options.from_json(data.get("options") or {}))


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda p: p.stem)
def test_every_check_says_its_finding_in_words(snapshot: Path) -> None:
    """Every registered check, also those the flow does not reach, over the recorded facts."""
    names = internal_names()
    facts = recorded(snapshot)
    leaks = []
    for name, spec in sorted(REGISTRY.items()):
        if name.startswith("test."):
            continue
        try:
            result = spec.fn(facts)
        except Exception:  # the engine turns this into "unknown" with the reason
            continue
        words = [result.summary, *(ev.detail for ev in result.evidence),
                 *(f"{h.detail} {h.why}" for h in result.history)]
        leaks += [(name, w) for w in words if named(w, names)]
    assert leaks == []


def test_every_signature_says_what_it_means_without_its_name() -> None:
    names = internal_names()
    for sig in BY_NAME.values():
        assert sig.said, sig.name
        for words in (sig.says(), sig.explanation, sig.says("gunicorn"), sig.explained("uWSGI")):
            assert "{" not in words and "}" not in words, sig.name
            assert named(words, names) == [], sig.name


def test_a_signature_names_the_program_where_it_speaks_of_the_backend() -> None:
    refused = BY_NAME["upstream_refused"]
    assert refused.says() == "the connection to the upstream was refused"
    assert refused.says("gunicorn") == "the connection to gunicorn was refused"
    assert refused.explained("PHP-FPM").startswith(
        "Nothing listens on the address and port of PHP-FPM: PHP-FPM is down")
    assert refused.explanation.startswith(
        "Nothing listens on the address and port of the upstream: the backend is down")
    closed = BY_NAME["upstream_prematurely_closed"]
    assert closed.explained("uWSGI").startswith("uWSGI hung up before sending")
    assert closed.explanation.startswith("The upstream hung up before sending")
