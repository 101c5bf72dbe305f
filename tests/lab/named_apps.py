"""Start the lab's fake app servers (fake_upstreams.py) so that they look to the system
the way gunicorn or uWSGI do.

A pip-installed gunicorn is a console script: a file named `gunicorn` whose first line is
`#!/usr/bin/python3`. Run, the kernel names the process after the script ("gunicorn") and
its command line reads `/usr/bin/python3 /usr/bin/gunicorn --bind unix:...`. A copy of
fake_upstreams.py saved under the program's name with that first line runs the same way,
so `ps`, psutil and the wizard see a real process called gunicorn holding the socket.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.lab.harness import READY_TIMEOUT, Lab, wait_for

FAKE_UPSTREAMS = Path(__file__).with_name("fake_upstreams.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # what the console scripts of Debian's packages use


def console_script(lab: Lab, program: str) -> Path:
    """fake_upstreams.py saved in the lab as an executable script named `program`."""
    script = lab.prefix / "bin" / program
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"#!{SYSTEM_PYTHON}\n" + FAKE_UPSTREAMS.read_text(encoding="utf-8"))
    script.chmod(0o755)
    return script


def start_app(lab: Lab, program: str, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """Run `program` (e.g. "gunicorn") as fake_upstreams.py with args ("http", "--unix",
    path...); returns the process (stopped with the lab) and the address it bound."""
    ready = lab.prefix / f"{program}-{len(list(lab.prefix.glob('*.ready')))}.ready"
    proc = subprocess.Popen([str(console_script(lab, program)), *args, "--ready", str(ready)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    lab.track(proc)

    def bound() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"{program} exited with {proc.returncode}")
        return ready.exists()

    wait_for(bound, READY_TIMEOUT, f"{program} to bind")
    return proc, ready.read_text().strip()
