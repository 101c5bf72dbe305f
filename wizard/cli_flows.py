"""`nginx-502-wizard flows list|lint|test|schema`: the tools for runbook authors."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.engine.exit_codes import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE

# The flow modules (and YAML) load when a `flows` command runs, not whenever the
# command line is parsed: `--version` and the TUI's first screen do not wait for them.
if TYPE_CHECKING:
    from wizard.flow.library import FlowFile
    from wizard.flow.model import Flow


def add_flows_command(sub: Any) -> None:
    """Register `flows` and its subcommands on the top-level subparsers."""
    flows = sub.add_parser("flows", help="list, lint or test flow files")
    flows_sub = flows.add_subparsers(dest="flows_command", parser_class=type(flows),
                                     required=True)
    listing = flows_sub.add_parser(
        "list", help="list the flows found, where each comes from and which file a name uses")
    listing.add_argument("--flows", action="append", default=[], metavar="DIR",
                         help="extra folder of flow files (repeatable)")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    lint = flows_sub.add_parser("lint", help="check flow files for mistakes")
    lint.add_argument("paths", nargs="*", metavar="PATH")
    lint.add_argument("--flows", action="append", default=[], metavar="DIR")
    test = flows_sub.add_parser(
        "test", help="replay the test cases flows ship (NAME.tests/cases.yaml) and check the "
                     "causes found; exit 0 all pass, 1 a case failed, 2 bad input",
        description="A flow NAME.yaml keeps its test cases in NAME.tests/cases.yaml: each "
                    "replays a facts snapshot (diagnose --save-snapshot) through the flow "
                    "and checks the causes found (expect_first, expect, expect_not, exit). "
                    "One line per case; exit 0 when all pass, 1 when a case fails, 2 on bad "
                    "input. The format: docs/writing-flows.md.")
    test.add_argument("paths", nargs="*", metavar="PATH",
                      help="flow files, their cases.yaml, or folders of flows (default: "
                           "every flow found)")
    test.add_argument("--flows", action="append", default=[], metavar="DIR",
                      help="extra folder of flow files (repeatable)")
    flows_sub.add_parser("schema", help="print the JSON Schema of flow files")


def cmd_flows(args: argparse.Namespace) -> int:
    if args.flows_command == "schema":
        from wizard.flow.schema import flow_schema

        sys.stdout.write(json.dumps(flow_schema(), indent=2) + "\n")
        return EXIT_OK
    missing = [d for d in args.flows if not Path(d).is_dir()]
    if missing:  # a mistyped folder must not pass for "nothing to list, lint or test"
        for folder in missing:
            print(f"{folder}: --flows folder does not exist", file=sys.stderr)
        return EXIT_USAGE
    if args.flows_command == "list":
        return _list(args.flows, args.format)
    if args.flows_command == "test":
        return _test(args.paths, args.flows)
    return _lint(args.paths, args.flows)


# -- flows list ---------------------------------------------------------------------------

@dataclass
class _Listed:
    entry: FlowFile
    used: FlowFile  # the file this name resolves to (the entry itself when it is used)
    flow: Flow | None
    errors: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.entry.name, "source": self.entry.source, "path": str(self.entry.path),
            "used": self.used is self.entry,
            "overridden_by": None if self.used is self.entry else str(self.used.path),
            "flow": self.flow.flow if self.flow else None,
            "title": self.flow.title if self.flow else None,
            "nodes": len(self.flow.nodes) if self.flow else None,
            "errors": self.errors,
        }


def _listed(extra_dirs: list[str]) -> list[_Listed]:
    from wizard.flow.library import flow_catalogue, in_use
    from wizard.flow.loader import FlowLoadError, load_flow

    catalogue = flow_catalogue(extra_dirs)
    used = in_use(catalogue)
    rows = []
    for entry in catalogue:
        try:
            flow, errors = load_flow(entry.path), []
        except FlowLoadError as exc:
            flow, errors = None, [str(e) for e in exc.errors]
        rows.append(_Listed(entry, used[entry.name], flow, errors))
    # Each name together, the file it uses first, then the ones it overrides (newest first).
    order = {entry.path: index for index, entry in enumerate(catalogue)}
    return sorted(rows, key=lambda r: (r.entry.name, r.used is not r.entry,
                                       -order[r.entry.path]))


def _list(extra_dirs: list[str], fmt: str) -> int:
    rows = _listed(extra_dirs)
    broken = any(row.errors for row in rows)
    if fmt == "json":
        sys.stdout.write(json.dumps([row.to_json() for row in rows], indent=2) + "\n")
        return EXIT_USAGE if broken else EXIT_OK
    width = max([len(row.entry.name) for row in rows] + [4])
    print(f"{'NAME':<{width}}  {'STATE':<10}  {'FROM':<8}  {'STEPS':>5}  FILE")
    for row in rows:
        state = "used" if row.used is row.entry else "overridden"
        state = "broken" if row.errors else state
        steps = str(len(row.flow.nodes)) if row.flow else "-"
        print(f"{row.entry.name:<{width}}  {state:<10}  {row.entry.source:<8}  {steps:>5}  "
              f"{row.entry.path}")
        print(f"{'':<{width}}  {_second_line(row)}")
    for row in rows:
        for error in row.errors:
            print(error, file=sys.stderr)
    return EXIT_USAGE if broken else EXIT_OK


def _second_line(row: _Listed) -> str:
    """The flow's title, or why it is not used."""
    if row.errors:
        return "cannot be loaded (the reason is below)"
    if row.used is not row.entry:
        return (f"not used: `--flow {row.entry.name}` picks {row.used.path} "
                f"({row.used.source})")
    assert row.flow is not None
    named = (f" (its `flow:` says {row.flow.flow})"
             if row.flow.flow != row.entry.name else "")
    return f"{row.flow.title or 'untitled'}{named}"


# -- flows lint ---------------------------------------------------------------------------

def _lint(paths: list[str], extra_dirs: list[str]) -> int:
    from wizard.flow.library import flow_catalogue
    from wizard.flow.lint import lint_flow
    from wizard.flow.loader import FlowLoadError, load_flow

    files = [Path(p) for p in paths] or [entry.path for entry in flow_catalogue(extra_dirs)]
    failures = 0
    for path in files:
        try:
            flow = load_flow(path)
        except FlowLoadError as exc:
            failures += 1
            for error in exc.errors:
                print(error)
            continue
        problems = lint_flow(flow)
        failures += bool(problems)
        for problem in problems:
            print(problem)
        if not problems:
            print(f"{path}: ok ({len(flow.nodes)} nodes)")
    return EXIT_USAGE if failures else EXIT_OK


# -- flows test ---------------------------------------------------------------------------

@dataclass
class _Tally:
    passed: int = 0
    failed: int = 0
    bad_input: int = 0

    def exit_code(self) -> int:
        if self.bad_input:
            return EXIT_USAGE
        return EXIT_PROBLEM if self.failed else EXIT_OK


def _test(paths: list[str], extra_dirs: list[str]) -> int:
    tally = _Tally()
    targets = _test_targets(paths, extra_dirs, tally)
    for flow_path, cases, required in targets:
        _test_flow(flow_path, cases, tally, required)
    ran = tally.passed + tally.failed
    if ran == 0:
        if not tally.bad_input:
            print("no test cases found: a flow NAME.yaml keeps them in NAME.tests/cases.yaml",
                  file=sys.stderr)
        return EXIT_USAGE
    print(f"{ran} case(s): {tally.passed} ok, {tally.failed} failed"
          + (f"; {tally.bad_input} problem(s) with the input, on stderr"
             if tally.bad_input else ""))
    return tally.exit_code()


def _test_targets(paths: list[str], extra_dirs: list[str],
                  tally: _Tally) -> list[tuple[Path, Path, bool]]:
    """(flow file, its cases file, whether it must have cases) for every PATH: a flow
    file or a cases file (must), or a folder of flows; without PATH, every flow found."""
    from wizard.flow.cases import CASES_FILE, cases_path, flow_path_of
    from wizard.flow.library import flow_catalogue

    if not paths:
        return [(entry.path, cases_path(entry.path), False)
                for entry in flow_catalogue(extra_dirs)]
    targets: list[tuple[Path, Path, bool]] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            flows = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            targets += [(flow, cases_path(flow), False) for flow in flows]
            if not flows:
                _bad(tally, f"{path}: no flow files (*.yaml) in this folder")
        elif not path.is_file():
            _bad(tally, f"{path}: no such file or folder")
        elif (flow := flow_path_of(path)) is not None:
            targets.append((flow, path, True))
        elif path.name == CASES_FILE:
            _bad(tally, f"{path}: no flow for these cases: they belong in NAME.tests/ "
                        "beside the flow NAME.yaml")
        else:
            targets.append((path, cases_path(path), True))
    return targets


def _bad(tally: _Tally, line: str) -> None:
    tally.bad_input += 1
    print(line, file=sys.stderr)


def _test_flow(flow_path: Path, cases: Path, tally: _Tally, required: bool) -> None:
    from wizard.engine.case_replay import CaseInputError, replay_case
    from wizard.flow.cases import load_cases
    from wizard.flow.loader import FlowLoadError, load_flow

    if not cases.is_file():
        if required:  # named on the command line: without cases it cannot pass
            _bad(tally, f"{flow_path}: no test cases (expected them in {cases})")
        else:
            print(f"none  {flow_path.stem}: no test cases ({flow_path})")
        return
    try:
        flow = load_flow(flow_path)
        case_file = load_cases(cases, flow)
    except FlowLoadError as exc:
        for error in exc.errors:
            _bad(tally, str(error))
        return
    for case in case_file.cases:
        label = f"{flow_path.stem}: {case.name}"
        try:
            verdict = replay_case(flow, case_file, case)
        except CaseInputError as exc:
            _bad(tally, f"{cases}:{case.line}: {exc}")
            continue
        if verdict.passed:
            tally.passed += 1
            print(f"ok    {label} (found: {', '.join(verdict.found) or 'nothing'})")
        else:
            tally.failed += 1
            print(f"FAIL  {label}: {'; '.join(verdict.failures)} "
                  f"(found: {', '.join(verdict.found) or 'nothing'}; {cases}:{case.line})")
