"""Test cases a flow ships for `flows test`: recorded facts and the causes expected.

A flow `NAME.yaml` keeps its cases in the folder `NAME.tests/` next to it, in
`cases.yaml`, with the facts snapshots (`diagnose --save-snapshot`) they replay:

    cases:
      - name: a proxied app that never answers
        snapshot: slow-proxy.json          # relative to cases.yaml
        answers: {deploy: "yes"}           # ask nodes answered ahead (NODE: KEY)
        expect_first: upstream_timeout     # the likeliest cause
        expect: [upstream_timeout]         # each among the causes found
        expect_not: [php_fpm_timeout]      # none of these may be found
        exit: 1                            # diagnose's exit code (0 nothing wrong found)

Errors come as `file:line: reason`, like the flow loader's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.causes import CAUSES
from wizard.flow.loader import (  # the flow loader's YAML binder: same errors, same lines
    FlowError,
    FlowLoadError,
    _Binder,
    _compose,
)
from wizard.flow.model import Flow, doc

CASES_FOLDER_SUFFIX = ".tests"
CASES_FILE = "cases.yaml"
MAX_CASES_BYTES = 1024 * 1024
EXIT_CODES = ("0", "1", "3")  # diagnose: nothing wrong found, a problem found, unfinished


@dataclass
class Case:
    """One recorded situation and what the flow must conclude from it."""

    name: str = doc("What the situation is, in a few words (shown on every result line).", "")
    snapshot: str = doc("Facts snapshot file (diagnose --save-snapshot), relative to this "
                        "file.", "")
    answers: dict[str, str] = doc("Ask nodes answered ahead, as with --answer: node id -> "
                                  "choice key. Others take their default_choice.",
                                  factory=dict)
    expect_first: str | None = doc("Cause id that must come first (the likeliest).")
    expect: list[str] = doc("Cause ids that must each be found.", factory=list)
    expect_not: list[str] = doc("Cause ids that must not be found (a 'must not fire' twin).",
                                factory=list)
    exit: str | None = doc("diagnose's exit code: 0 nothing wrong found, 1 a problem found, "
                           "3 the walk could not finish.")
    line: int = 0


@dataclass
class CaseFile:
    """The test cases of one flow."""

    cases: list[Case] = doc("The cases, each replayed on its own.", factory=list)
    path: str = ""
    line: int = 0


def cases_path(flow_path: Path) -> Path:
    """Where the cases of the flow in `flow_path` live: NAME.tests/cases.yaml beside it."""
    return flow_path.with_name(flow_path.stem + CASES_FOLDER_SUFFIX) / CASES_FILE


def flow_path_of(cases: Path) -> Path | None:
    """The flow file a cases file belongs to (NAME.tests/cases.yaml -> NAME.yaml), if any."""
    folder = cases.parent
    if not folder.name.endswith(CASES_FOLDER_SUFFIX):
        return None
    stem = folder.name[: -len(CASES_FOLDER_SUFFIX)]
    for suffix in (".yaml", ".yml"):
        candidate = folder.parent / (stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def snapshot_path(case_file: CaseFile, case: Case) -> Path:
    return Path(case_file.path).parent / case.snapshot


def load_cases(path: Path, flow: Flow) -> CaseFile:
    """Read and check a cases file against its flow. Raises FlowLoadError."""
    try:
        if path.stat().st_size > MAX_CASES_BYTES:
            raise FlowLoadError([FlowError(str(path), 1, "the file is too large for cases")])
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise FlowLoadError([FlowError(str(path), 1, f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise FlowLoadError([FlowError(str(path), 1, "not UTF-8 text")]) from None
    binder = _Binder(str(path))
    case_file: CaseFile = binder.bind_dataclass(CaseFile, _compose(text, str(path)), "cases")
    case_file.path = str(path)
    errors = binder.errors or case_errors(case_file, flow)
    if errors:
        raise FlowLoadError(sorted(errors, key=lambda e: e.line))
    return case_file


def case_errors(case_file: CaseFile, flow: Flow) -> list[FlowError]:
    """What makes the cases unusable: nothing to check, unknown ids, a missing snapshot."""
    errors: list[FlowError] = []

    def err(line: int, reason: str) -> None:
        errors.append(FlowError(case_file.path, line, reason))

    if not case_file.cases:
        err(case_file.line, "no cases: add a list under `cases:`")
    names: set[str] = set()
    for case in case_file.cases:
        if not case.name:
            err(case.line, "a case needs a `name`")
        elif case.name in names:
            err(case.line, f"the case name {case.name!r} is used twice")
        names.add(case.name)
        errors.extend(FlowError(case_file.path, case.line, reason)
                      for reason in _case_problems(case_file, case, flow))
    return errors


def _case_problems(case_file: CaseFile, case: Case, flow: Flow) -> list[str]:
    problems: list[str] = []
    if not case.snapshot:
        problems.append("a case needs a `snapshot` (a file saved by diagnose --save-snapshot)")
    elif not snapshot_path(case_file, case).is_file():
        problems.append(f"snapshot {case.snapshot} not found next to {Path(case_file.path).name}")
    if not (case.expect_first or case.expect or case.expect_not or case.exit is not None):
        problems.append(f"case {case.name!r} expects nothing: give expect_first, expect, "
                        "expect_not or exit")
    listed = [*([case.expect_first] if case.expect_first else []), *case.expect,
              *case.expect_not]
    problems += [f"unknown cause id {cause_id!r}" for cause_id in listed
                 if cause_id not in CAUSES]
    both = sorted(set(case.expect_not) & {*case.expect, case.expect_first})
    problems += [f"{cause_id!r} is both expected and not expected" for cause_id in both]
    if case.exit is not None and case.exit not in EXIT_CODES:
        problems.append(f"exit must be one of {', '.join(EXIT_CODES)}, not {case.exit!r}")
    return problems + _answer_problems(case, flow)


def _answer_problems(case: Case, flow: Flow) -> list[str]:
    problems: list[str] = []
    nodes = flow.by_id
    for node_id, key in case.answers.items():
        node = nodes.get(node_id)
        if node is None or node.kind != "ask":
            problems.append(f"answers: the flow has no question {node_id!r}")
        elif key not in {choice.key for choice in node.choices}:
            keys = ", ".join(choice.key for choice in node.choices)
            problems.append(f"answers: {key!r} is not an answer to {node_id!r} (one of: {keys})")
    return problems
