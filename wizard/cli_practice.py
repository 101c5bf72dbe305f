"""`nginx-502-wizard practice [SCENARIO]`: try the wizard on a real, deliberately broken
nginx in a private sandbox (wizard/practice/), then see which break it was."""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import TYPE_CHECKING, Any

from wizard import TOOL_NAME
from wizard.engine.exit_codes import EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE
from wizard.engine.shutdown import ends_by_signal

if TYPE_CHECKING:
    from wizard.practice.parts import Parts
    from wizard.practice.scenarios import Scenario
    from wizard.practice.session import PracticeRun

DESCRIPTION = (
    "Start a real nginx (and PHP-FPM where needed), broken in one way, in a private "
    "temporary folder on a free 127.0.0.1 port, and open the wizard on it. Fixes change "
    "only that sandbox, never this machine's services or firewall, and everything is "
    "stopped and removed when you leave. Without SCENARIO one is picked at random and "
    "named only at the end.")


def add_practice_command(sub: Any) -> None:
    """Register `practice` on the top-level subparsers."""
    practice = sub.add_parser("practice", help="try the wizard on a broken practice site",
                              description=DESCRIPTION)
    practice.add_argument("scenario", nargs="?", metavar="SCENARIO",
                          help="which break to practise on (see --list); default: a random one")
    practice.add_argument("--list", action="store_true", help="list the scenarios and exit")
    practice.add_argument("--headless", action="store_true",
                          help="no wizard screen: print the diagnosis of the sandbox as JSON")
    practice.add_argument("--fix", action="store_true",
                          help="with --headless: also run the first fix offered for the first "
                               "cause, inside the sandbox")


def cmd_practice(args: argparse.Namespace) -> int:
    from wizard.practice.parts import PartMissing, find_parts
    from wizard.practice.sandbox import SandboxError
    from wizard.practice.scenarios import BY_NAME, SCENARIOS

    if args.list:
        width = max(len(s.name) for s in SCENARIOS)
        for scenario in SCENARIOS:
            print(f"{scenario.name:<{width}}  {scenario.summary}")
        return EXIT_OK
    if args.fix and not args.headless:
        return _refuse("--fix goes with --headless; in the wizard, press f to fix")
    if args.scenario is not None and args.scenario not in BY_NAME:
        return _refuse(f"there is no practice scenario {args.scenario!r}; "
                       f"`{TOOL_NAME} practice --list` shows them")
    scenario = BY_NAME[args.scenario] if args.scenario else random.choice(SCENARIOS)
    try:
        parts = find_parts()
        if scenario.needs_phpfpm:
            parts.require_phpfpm()
        return _practise(scenario, parts, args)
    except PartMissing as exc:
        return _refuse(str(exc))
    except SandboxError as exc:
        print(f"{TOOL_NAME}: {exc}", file=sys.stderr)
        return EXIT_INCOMPLETE


def _refuse(line: str) -> int:
    print(f"{TOOL_NAME}: {line}", file=sys.stderr)
    return EXIT_USAGE


def _practise(scenario: Scenario, parts: Parts, args: argparse.Namespace) -> int:
    from wizard.practice.headless import run_headless
    from wizard.practice.session import practice_run

    if not args.headless:
        print("Setting up a broken practice site...", file=sys.stderr, flush=True)
    with practice_run(scenario, parts) as run:
        if args.headless:
            code, result = run_headless(run.options, args.fix)
            result["practice"] = {"scenario": scenario.name, "summary": scenario.summary,
                                  "sandbox": run.sandbox.prefix, "url": run.url}
            sys.stdout.write(json.dumps(result, indent=2) + "\n")
            return code
        code = _open_wizard(run)
        if ends_by_signal(code):  # told to stop (maybe the terminal is gone): sweep, end
            return code
        page = run.sandbox.request(scenario.path, scenario.host)
    _debrief(scenario, run.url, page)
    return code


def _open_wizard(run: PracticeRun) -> int:
    from wizard.tui.app import run_tui

    return run_tui(run.options)


def _debrief(scenario: Scenario, url: str, page: int | str) -> None:
    """After the walk: which break it was, and what the page answers now."""
    from wizard.causes import cause

    now = f"answers {page}" if isinstance(page, int) else f"does not answer ({page})"
    print(f"Practice scenario: {scenario.summary}")
    print(f"The cause to find: {cause(scenario.name).title}.")
    print(f"At the end, {url} {now}.")
    print("The practice site is stopped and its folder removed.")
