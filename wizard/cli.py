"""Command line: `nginx-502-wizard [tui|diagnose|explain|flows]` (see CONTRACTS.md)."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from wizard import TOOL_NAME, __version__
from wizard.cli_flows import add_flows_command
from wizard.cli_practice import add_practice_command
from wizard.cli_sessions import add_resume_option, add_sessions_command
from wizard.engine.exit_codes import EXIT_INCOMPLETE, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE
from wizard.engine.shutdown import OrderlyStop, StopRequested, echo, exit_status, say
from wizard.gc_pause import gc_paused
from wizard.options import Options, parse_duration

# Only what parsing the command line needs is imported above: each command imports its
# own parts when it runs, so `--version` is quick and the TUI paints its first screen
# without waiting for the engine, the checks or YAML (issue 14).

if TYPE_CHECKING:
    from wizard.engine.runner import Session


class UsageError(Exception):
    """Bad usage or bad input: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _answer(text: str) -> tuple[str, str]:
    node, sep, choice = text.partition("=")
    if not sep or not node or not choice:
        raise argparse.ArgumentTypeError(f"expected NODE=CHOICE, got {text!r}")
    return node, choice


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_session_options(
        p: argparse.ArgumentParser | argparse._ArgumentGroup) -> list[argparse.Action]:
    return [
        p.add_argument("--nginx-conf", metavar="PATH", help="use this nginx.conf"),
        p.add_argument("--url", help="the address that answers 502; the wizard requests it"),
        p.add_argument("--since", type=_duration, default=3600.0, metavar="DURATION",
                       help="how far back to read logs (e.g. 15m, 2h; default 1h)"),
        p.add_argument("--flow", default="nginx-502", metavar="NAME|PATH",
                       help="which flow (default nginx-502)"),
        p.add_argument("--flows", action="append", default=[], metavar="DIR",
                       help="extra folder of flow files (repeatable)"),
        p.add_argument("--answer", action="append", type=_answer, default=[],
                       metavar="NODE=CHOICE", help="answer an ask node ahead (repeatable)"),
        p.add_argument("--from-snapshot", metavar="FILE",
                       help="replay facts saved by --save-snapshot instead of reading this "
                            "host; fixes are then planned and shown, never run"),
        p.add_argument("--save-snapshot", metavar="FILE", help="save the gathered facts"),
        p.add_argument("--check-timeout", type=float, metavar="SECONDS",
                       help="limit every check to this many seconds"),
    ]


USAGE = f"""{TOOL_NAME} [WIZARD OPTIONS]
       {TOOL_NAME} {{tui,diagnose,explain,flows,practice,sessions}} ..."""
DESCRIPTION = (
    "Find and fix the cause of nginx 502. With no command, the interactive wizard opens "
    "(the same as `tui`), and it takes the wizard options listed below.")
EPILOG = f"Each command has its own help, e.g. `{TOOL_NAME} diagnose --help`."


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=TOOL_NAME, usage=USAGE, description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"{TOOL_NAME} {__version__}")
    # Shown here because a person running the bare command needs them; _default_to_tui
    # hands them to `tui`, so this parser never keeps a value (or a default) of its own.
    wizard_options = parser.add_argument_group("wizard options (no command, or tui)")
    for action in _add_session_options(wizard_options):
        action.default = argparse.SUPPRESS
    add_resume_option(wizard_options).default = argparse.SUPPRESS
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, prog=TOOL_NAME)
    tui = sub.add_parser("tui", help="open the interactive wizard (the default)")
    _add_session_options(tui)
    add_resume_option(tui)
    diag = sub.add_parser("diagnose", help="run the flow headless and print a report")
    _add_session_options(diag)
    diag.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    diag.add_argument("--fix", metavar="ID", help="print the plan of the offered fix with "
                      "this id (causes[].fixes[].id in --format json); with --yes, run it. "
                      "With --from-snapshot the plan is printed only: it was made from "
                      "recorded facts, so --yes is refused (exit 2)")
    diag.add_argument("--yes", action="store_true",
                      help="confirm --fix: really run it (on this host's own facts only)")
    diag.add_argument("--transcript", metavar="FILE",
                      help="where to save the session transcript (default: state folder)")
    explain = sub.add_parser("explain", help="explain nginx / PHP-FPM error-log lines")
    explain.add_argument("file", nargs="?", default="-", help="log file, or - for stdin")
    explain.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    add_flows_command(sub)
    add_sessions_command(sub)
    add_practice_command(sub)
    return parser


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        nginx_conf=args.nginx_conf, url=args.url, since_seconds=args.since, flow=args.flow,
        flow_dirs=list(args.flows), answers=dict(args.answer),
    )


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """The arguments as given (without the program name); UsageError when they are wrong."""
    return build_parser().parse_args(_default_to_tui(argv))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_command_line(argv)
        return _dispatch(args)
    except UsageError as exc:
        print(f"{TOOL_NAME}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{TOOL_NAME}: interrupted", file=sys.stderr)
        return EXIT_INCOMPLETE
    except StopRequested as exc:  # a second signal while the first one's stop ran
        say(f"stopped by {exc}")
        return exit_status(exc.signum)
    except BrokenPipeError:
        return EXIT_INCOMPLETE
    except Exception as exc:
        if not isinstance(exc, _input_errors()):
            raise
        print(f"{TOOL_NAME}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _input_errors() -> tuple[type[Exception], ...]:
    """A broken flow or facts file: exit 2 with its reason. Imported only once such an
    error may be on its way out, so `--version` never loads the flow modules or YAML."""
    from wizard.engine.facts_source import FactsFileError
    from wizard.flow.loader import FlowLoadError

    return FlowLoadError, FactsFileError


def _default_to_tui(argv: list[str]) -> list[str]:
    """`nginx-502-wizard --url X` means `nginx-502-wizard tui --url X`."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        return ["tui", *argv]
    return argv


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "diagnose":
        return cmd_diagnose(args)
    if args.command == "explain":
        return cmd_explain(args)
    if args.command == "flows":
        from wizard.cli_flows import cmd_flows

        return cmd_flows(args)
    if args.command == "sessions":
        from wizard.cli_sessions import cmd_sessions

        return cmd_sessions(args)
    if args.command == "practice":
        from wizard.cli_practice import cmd_practice

        return cmd_practice(args)
    return cmd_tui(args)


def cmd_diagnose(args: argparse.Namespace) -> int:
    # The engine, the flow, its checks and the fact providers live as long as the process
    # and form no garbage: the collector walked them some sixty times over (a tenth of a
    # short diagnosis's CPU) until paused while they load, and frozen after (gc_pause.py).
    with gc_paused():
        from wizard.engine.facts_source import open_facts
        from wizard.engine.runner import Session
        from wizard.flow.library import find_flow

    _refuse_fix_from_snapshot(args)
    options = options_from(args)
    with OrderlyStop() as stop:  # SIGTERM, SIGHUP, SIGINT: see engine/shutdown.py
        session: Session | None = None
        try:
            with gc_paused():
                flow = find_flow(options.flow, options.flow_dirs)
                facts = open_facts(options, args.from_snapshot)
                session = Session(flow, facts, check_timeout=args.check_timeout)
            return _diagnose(args, session, stop)
        except StopRequested:
            return _stopped(session, stop, args.transcript)


def _diagnose(args: argparse.Namespace, session: Session, stop: OrderlyStop) -> int:
    from wizard.engine.facts_source import save_snapshot
    from wizard.engine.failing_addresses import failing_addresses, report_line
    from wizard.engine.report import build_report, exit_code, render
    from wizard.redact import redact_data, redact_text

    options, facts = session.facts.options, session.facts
    session.prefetch()
    transcript = session.run()
    # Without --url, the addresses the logs saw failing (read before the snapshot is saved,
    # so a replay lists them too); headless never picks one.
    seen = failing_addresses(facts) if not options.url and not args.fix else None
    if args.save_snapshot:
        save_snapshot(facts, args.save_snapshot)
    if args.fix:
        code = _headless_fix(session, args.fix, args.yes, args.from_snapshot, stop)
        if stop.requested:  # it came while the fix ran, and waited for its end
            return _stopped(session, stop, args.transcript)
    report = build_report(transcript, facts)
    if seen is not None:
        report["failing_addresses"] = [address.to_json() for address in seen]
    saved = _save_transcript(session, report, args.transcript)
    if not args.fix:
        if saved:
            report["transcript"] = saved
        # What diagnose prints goes into tickets and chats: secrets out, as in the records.
        sys.stdout.write(render(redact_data(report), args.format))
        line = report_line(seen or [], markdown=args.format == "markdown")
        if line and args.format != "json":
            sys.stdout.write(f"\n{redact_text(line)}\n")
        code = exit_code(report)
    return code


def _stopped(session: Session | None, stop: OrderlyStop, path: str | None) -> int:
    """A stop signal ended `diagnose`: the transcript keeps the steps so far (and the fix,
    which was let finish) and says what ended it; one line on stderr says the same."""
    import time

    from wizard.engine.report import build_report

    if session is None:
        say(f"stopped by {stop.name} before the diagnosis began")
        return stop.exit_status
    session.cancel()
    transcript = session.transcript
    if transcript.finished is None:
        transcript.error = f"stopped by {stop.name} before the checks finished"
        transcript.finished = time.time()
    report = build_report(transcript, session.facts)
    report["stopped_by"] = {"signal": stop.name, "during": stop.arrived_during}
    saved = _save_transcript(session, report, path)
    what = ("once the fix that was running had ended (its After: line says how)"
            if stop.arrived_during == "fix" else "the checks were stopped")
    say(f"stopped by {stop.name}: {what}; " + (f"the session is saved in {saved}"
                                              if saved else "the session was not saved"))
    return stop.exit_status


def _refuse_fix_from_snapshot(args: argparse.Namespace) -> None:
    """A plan made from a snapshot names another machine's services, ports and files (or
    this one's, as it was then): running it here could change the wrong things."""
    if args.fix and args.yes and args.from_snapshot:
        raise UsageError("cannot run a fix planned from a snapshot: its commands were made "
                         "from recorded facts, not this host (leave out --yes to see the plan)")


def _save_transcript(session: Session, report: dict[str, object], path: str | None) -> str:
    from wizard.engine.transcript_store import save_transcript

    try:
        return str(save_transcript(session.transcript, report, Path(path) if path else None))
    except OSError as exc:
        if path:
            raise UsageError(f"cannot write transcript {path}: {exc.strerror or exc}") from None
        print(f"{TOOL_NAME}: transcript not saved: {exc.strerror or exc}", file=sys.stderr)
        return ""


def _headless_fix(session: Session, fix_id: str, confirmed: bool,
                  snapshot: str | None = None, stop: OrderlyStop | None = None) -> int:
    """`diagnose --fix ID`: show the plan; with --yes run it and prove it with the check.
    A plan from a `snapshot` is only shown (_refuse_fix_from_snapshot stops --yes)."""
    found = [(step, offer) for step in session.transcript.steps for offer in step.fixes
             if offer.plan and offer.plan["id"] == fix_id]
    if not found:
        offered = sorted({o.plan["id"] for s in session.transcript.steps for o in s.fixes
                          if o.plan})
        raise UsageError(f"no fix {fix_id!r} was offered on this host (offered: "
                         f"{', '.join(offered) or 'none'})")
    step, offer = found[0]
    plan = offer.plan or {}
    if snapshot:
        print(f"Planned from the snapshot {snapshot}, not from this host: "
              "it cannot be applied here.")
    print(f"Fix: {plan['title']}")
    print(f"Because: {step.title}: {step.summary}")
    print("Needs root: " + ("yes" if plan["needs_root"] else "no"))
    if plan.get("diff"):
        print("Change:")
        print(plan["diff"].rstrip("\n"))
    if plan.get("validate"):
        print("Checked before it takes effect (rolled back if it fails):")
        for argv in plan["validate"]:
            print("  $ " + shlex.join(argv))
    print("Commands:")
    for argv in plan["commands"]:
        print("  $ " + shlex.join(argv))
    if plan.get("undo"):
        print("Undo:")
        for argv in plan["undo"]:
            print("  $ " + shlex.join(argv))
    for note in plan.get("notes") or []:
        print(f"Note: {note}")
    if plan.get("verify"):
        print(f"It worked when: {plan['verify']}")
    if snapshot:
        print("Nothing was run. To apply it, run the diagnosis on the host itself, "
              "without --from-snapshot.")
        return EXIT_OK
    if not confirmed:
        print("Nothing was run. Add --yes to run these commands.")
        return EXIT_OK
    with stop.fix_in_flight() if stop else contextlib.nullcontext():  # never cut half-way
        applied = session.apply_fix(step, offer, on_output=echo)
    echo(f"Before: {applied.before}")
    echo(f"After:  {applied.after}")
    return EXIT_OK if applied.succeeded else EXIT_PROBLEM


def cmd_explain(args: argparse.Namespace) -> int:
    from wizard.explain import write_explain

    if args.file == "-":
        write_explain(sys.stdin.buffer, args.format, sys.stdout)
        return 0
    try:
        with open(args.file, "rb") as fh:
            write_explain(fh, args.format, sys.stdout)  # JSON streams: bounded memory
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    from wizard.tui.opening import draws_on_a_terminal

    # On a terminal the app paints its first screen at once and reads the flow behind it
    # (a broken one then ends it with the same line and exit 2). With no terminal to draw
    # on there is no first screen to hurry: a broken flow is refused before Textual loads.
    flow = None
    if not args.resume and not draws_on_a_terminal():
        from wizard.flow.library import find_flow

        flow = find_flow(args.flow, args.flows)
    from wizard.tui.app import run_tui

    return run_tui(options_from(args), snapshot=args.from_snapshot,
                   save_snapshot_to=args.save_snapshot, check_timeout=args.check_timeout,
                   resume=args.resume, flow=flow)
