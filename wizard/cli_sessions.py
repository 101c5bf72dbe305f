"""`nginx-502-wizard sessions list|show|export ID`: the recorded TUI sessions.

Every session the wizard opens is journaled as it happens (engine/session_journal.py),
so one cut off by a crash, `kill -9` or a dropped SSH connection is here too, marked
unfinished. `export` renders one as Markdown for a ticket or a post-mortem.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from wizard.private_file import write_private

EXIT_OK, EXIT_USAGE = 0, 2


def add_sessions_command(sub: Any) -> None:
    """Register `sessions` on the main parser's subcommands."""
    sessions = sub.add_parser("sessions", help="list, show or export recorded sessions")
    commands = sessions.add_subparsers(dest="sessions_command", parser_class=type(sessions),
                                       required=True)
    commands.add_parser("list", help="every recorded session, newest first")
    show = commands.add_parser("show", help="one session as text")
    show.add_argument("id", help="a session id from `sessions list` (or its start), or last")
    export = commands.add_parser("export", help="one session as Markdown, for a ticket")
    export.add_argument("id", help="a session id from `sessions list` (or its start), or last")
    export.add_argument("--output", "-o", metavar="FILE",
                        help="write it to FILE (private to you) instead of printing it")


def cmd_sessions(args: argparse.Namespace) -> int:
    from wizard.engine.session_records import NoSuchSession, find_session

    try:
        if args.sessions_command == "list":
            return _list()
        record = find_session(args.id)
    except (NoSuchSession, OSError) as exc:  # also: no state folder can be made
        print(f"nginx-502-wizard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.sessions_command == "show":
        from wizard.engine.session_export import render_session_text

        sys.stdout.write(render_session_text(record))
        return EXIT_OK
    from wizard.engine.session_export import render_session_markdown

    return _write(render_session_markdown(record), args.output)


def _list() -> int:
    from wizard.engine.session_records import list_sessions
    from wizard.engine.transcript_store import transcript_dir

    sessions = list_sessions()
    if not sessions:
        print(f"No session recorded yet (they are kept in {transcript_dir()}).")
        return EXIT_OK
    rows = [("ID", "STARTED", "FLOW", "STATE", "ADDRESS", "LEAD CAUSE")]
    for record in sessions:
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started))
        address = str(record.options.get("url") or "-")
        rows.append((record.id, started, record.flow, record.state, address,
                     record.lead_cause() or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths))
              + "  " + row[-1])
    return EXIT_OK


def _write(text: str, output: str | None) -> int:
    if not output:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_private(output, text)
    except OSError as exc:
        print(f"nginx-502-wizard: cannot write {output}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"Written to {Path(output)}")
    return EXIT_OK


def add_resume_option(parser: Any) -> argparse.Action:
    """--resume, for the wizard (bare or `tui`)."""
    action: argparse.Action = parser.add_argument(
        "--resume", action="store_true",
        help="reopen the newest unfinished session where it stopped (the checks run "
             "again on the host as it is now)")
    return action
