"""The sudo password reaches sudo only through its prompt on a pseudo-terminal: never argv,
the environment, the output, the transcript or the saved record (SECURITY.md, item 3).

A stand-in `sudo` on PATH (a shell script written below, not the real program) records
its argv and environment, shows the prompt it was given with -p, reads the answer from its
terminal and runs the command. tests/lab/test_sudo.py does the same with real sudo and a
real user that must type a password.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from wizard.engine.transcript import Transcript
from wizard.engine.transcript_store import save_transcript
from wizard.fixes.apply import apply_fix
from wizard.fixes.privilege import Access, RootAccess
from wizard.host.facts import Facts

FAKE_SUDO = """\
#!/bin/sh
dump={dump}
printf '%s\\n' "$@" >> "$dump/argv"
env >> "$dump/env"
prompt="$2"; shift 2
[ "$1" = "--" ] && shift
printf '%s' "$prompt"
IFS= read -r answer
printf '%s' "$answer" > "$dump/answer"
echo
[ "$1" = "-v" ] && exit 0
exec "$@"
"""


@pytest.fixture
def fake_sudo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir, dump = tmp_path / "bin", tmp_path / "dump"
    bin_dir.mkdir()
    dump.mkdir()
    script = bin_dir / "sudo"
    script.write_text(FAKE_SUDO.format(dump=dump))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return dump


def test_the_password_goes_to_the_prompt_only(fake_sudo: Path, tmp_path: Path) -> None:
    password = "Pw-" + secrets.token_urlsafe(16)
    plan = {"id": "t", "needs_root": True,
            "commands": [["echo", "the fix ran"]], "undo": [], "guards": [None]}
    root = RootAccess(Access("password", "sudo asks"), password)
    shown: list[str] = []

    applied = apply_fix(plan, Facts.from_snapshot({"format": 1, "facts": {}}), shown.append,
                        root=root)

    assert applied.succeeded, applied.after
    assert (fake_sudo / "answer").read_text() == password  # it did reach sudo, by the tty
    transcript = Transcript(flow="nginx-502", options={})
    transcript.fixes.append(applied)
    record = save_transcript(transcript, {"lead": None}, tmp_path / "session.json")
    seen = {
        "argv": (fake_sudo / "argv").read_text(),
        "environment": (fake_sudo / "env").read_text(),
        "output": "\n".join(shown),
        "applied fix": json.dumps(applied.__dict__, default=str),
        "saved record": record.read_text(),
    }
    assert "the fix ran" in seen["output"]
    for where, text in seen.items():
        assert password not in text, f"the password is in the {where}"
