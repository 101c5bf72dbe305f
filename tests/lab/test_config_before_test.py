"""Facts that read only nginx's config (its servers, passes, logs) go on as soon as the
config is read, while `nginx -t` still runs: on a config of thousands of files the test
takes as long again as the reading, and every one of those facts used to wait for it.

The nginx here is the real one behind a wrapper on PATH that holds `nginx -t` until the
test lets it go (a FIFO), so "still running" is a state, not a race. The snapshot keeps
the nginx fact whole, once, and its commands under its own name.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.lab.big_config import write_big_config
from tests.support import require
from wizard.host.facts import Facts
from wizard.options import Options

REAL_NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEADLINE = 30.0  # seconds; the reads take well under one


def held_nginx(folder: Path) -> tuple[Path, Path]:
    """(a folder with a `nginx` that waits on the FIFO before `-t`, the FIFO)."""
    fifo = folder / "hold.fifo"
    os.mkfifo(fifo)
    bindir = folder / "bin"
    bindir.mkdir()
    wrapper = bindir / "nginx"
    wrapper.write_text(f'#!/bin/sh\ncase " $* " in *" -t "*) read -r _ < "{fifo}" ;; esac\n'
                       f'exec {REAL_NGINX} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bindir, fifo


def test_config_readers_do_not_wait_for_nginx_t(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    require(os.access(REAL_NGINX, os.X_OK), "needs nginx (apt-get install nginx-light)")
    site = write_big_config(tmp_path / "site", servers=30, locations=4, files=30)
    bindir, fifo = held_nginx(tmp_path)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    facts = Facts(Options(nginx_conf=site.nginx_conf))
    # No running nginx counts here: its program would be chosen over the one on PATH.
    monkeypatch.setitem(facts._values, "processes", [])
    whole = threading.Thread(target=facts.try_get, args=("nginx",), daemon=True)
    whole.start()
    readers: dict[str, object] = {}

    def read() -> None:
        for name in ("access_log", "dns", "docroot_permissions", "firewall", "upstream_probes"):
            readers[name] = facts.get(name)

    reading = threading.Thread(target=read, daemon=True)
    reading.start()
    reading.join(DEADLINE)
    assert not reading.is_alive(), "a fact that reads only the config waited for nginx -t"
    assert not facts.has("nginx") and whole.is_alive()  # nginx -t is still held
    permissions: Any = readers["docroot_permissions"]
    assert [r["root"] for r in permissions["roots"]] == [str(site.prefix / "www")]
    with open(fifo, "w", encoding="ascii") as release:
        release.write("go on\n")
    whole.join(DEADLINE)
    nginx = facts.get("nginx")
    assert nginx["test"]["ok"] is True and nginx["parse_ok"] is True
    assert len(nginx["servers"]) == 30
    snapshot = facts.to_snapshot()
    assert {"nginx_config", "nginx_found"}.isdisjoint(snapshot["facts"])
    assert snapshot["facts"]["nginx"] == nginx
    ran = [(c["argv"][1], c["purpose"]) for c in snapshot["commands"]
           if c["argv"][0] == str(bindir / "nginx")]
    assert sorted(ran) == [("-V", "nginx"), ("-t", "nginx")]
