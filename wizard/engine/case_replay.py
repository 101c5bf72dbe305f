"""`flows test`: replay a flow's test case through the real engine and judge the report.

The case's snapshot is replayed exactly as `diagnose --from-snapshot` would replay it
(with the options it was recorded with: its --url, --since, --nginx-conf), walked headless
with the case's answers, and the report's causes are compared with what the case expects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizard.engine.report import build_report, exit_code
from wizard.engine.runner import Session
from wizard.flow.cases import Case, CaseFile, snapshot_path
from wizard.flow.model import Flow
from wizard.host.facts import Facts
from wizard.options import Options


class CaseInputError(Exception):
    """The case cannot be replayed (its snapshot is unreadable); str(exc) is one line."""


@dataclass
class CaseVerdict:
    """How one case went: passed, or the reasons it failed, and the causes found."""

    case: Case
    failures: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def replay_case(flow: Flow, case_file: CaseFile, case: Case) -> CaseVerdict:
    """Walk `flow` over the case's recorded facts and judge the report. Raises
    CaseInputError when the snapshot cannot be read."""
    facts = _recorded_facts(snapshot_path(case_file, case), case)
    transcript = Session(flow, facts).run()
    return judge(case, build_report(transcript, facts))


def _recorded_facts(path: Path, case: Case) -> Facts:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        options = Options.from_json(data.get("options") or {})
    except OSError as exc:
        raise CaseInputError(f"cannot read snapshot {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
        raise CaseInputError(f"{path} is not a facts snapshot: {exc}") from None
    options.answers = dict(case.answers)  # the case's answers, not the recorded run's
    try:
        return Facts.from_snapshot(data, options)
    except ValueError as exc:
        raise CaseInputError(f"{path} is not a facts snapshot: {exc}") from None


def found_causes(report: dict[str, Any]) -> list[str]:
    """Cause ids of the report, likeliest first, each followed by the causes folded under
    it ("because of this"): those were found too."""
    found: list[str] = []
    for item in report["causes"]:
        found += [item["id"], *(c["id"] for c in item.get("consequences") or [])]
    return found


def judge(case: Case, report: dict[str, Any]) -> CaseVerdict:
    found = found_causes(report)
    verdict = CaseVerdict(case, found=found)
    fail = verdict.failures.append
    if report.get("error"):
        fail(f"the walk did not finish: {report['error']}")
    first = report["causes"][0]["id"] if report["causes"] else None
    if case.expect_first and first != case.expect_first:
        fail(f"expected {case.expect_first} first, but "
             + (f"{first} came first" if first else "no cause was found"))
    missing = [cause_id for cause_id in case.expect if cause_id not in found]
    if missing:
        fail(f"expected {', '.join(missing)} among the causes, but "
             + ("it was not found" if len(missing) == 1 else "they were not found"))
    fired = [cause_id for cause_id in case.expect_not if cause_id in found]
    if fired:
        fail(f"{', '.join(fired)} must not be found, but "
             + ("it was" if len(fired) == 1 else "they were"))
    code = exit_code(report)
    if case.exit is not None and code != int(case.exit):
        fail(f"expected exit code {case.exit}, got {code}")
    return verdict
