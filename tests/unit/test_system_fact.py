"""The `system` fact reads the distro from os-release without starting `lsb_release`.

distro's default runs `lsb_release -a` (a Python program, tens of milliseconds) and
`uname`; every fact that needs the system (nginx, firewall, mac...) waited for them."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from tests.support import require
from wizard.host.facts import Facts
from wizard.options import Options


def _os_release_id() -> str:
    with open("/etc/os-release", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("ID="):
                return line.split("=", 1)[1].strip().strip('"')
    return ""


def test_the_distro_comes_from_os_release_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    require(os.path.isfile("/etc/os-release"), "needs /etc/os-release")
    started: list[Any] = []
    real = subprocess.check_output

    def spy(argv: Any, *args: Any, **kwargs: Any) -> Any:
        started.append(argv)
        return real(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "check_output", spy)
    system = Facts(Options()).get("system")
    assert system["distro"] == _os_release_id()
    assert system["distro_name"]
    assert started == []  # neither lsb_release nor uname
