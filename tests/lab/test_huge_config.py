"""A host with 10,000 sites (issue 12): `include .../sites-enabled/*;` over 10,000 small
server files, read completely and diagnosed in a time of the order of `nginx -t` itself.

The config comes from tests/lab/big_config.py (bench/ uses the same generator). Real
nginx serves it; every site's PHP socket is missing, so site 4242 answers 502. Then
`diagnose --url` for site 4242, as a separate process, must name that site's server block
and its fastcgi_pass, and its saved snapshot must hold all 10,000 servers.

Time is compared with `nginx -t` on the same files, measured in the same test, so a busy
machine slows both: the wizard's whole run (which runs `nginx -t` itself, besides reading
logs and probing) must stay within 4x its wall time plus 2 s, and 3x its CPU time plus
2 s; and reading the config alone (the nginx fact) must cost less CPU than the `nginx -t`
it runs, plus 1 s. Before the fix the whole run took 20-30 s of wall time and 19 s of CPU
against 4-7.5 s and 4-5 s for `nginx -t`, and the reading alone about 15 s of CPU (a
quadratic lookup per server, crossplane's per-character lexer, the garbage collector
walking the tree again and again); after it, the run is 1.1-2x `nginx -t` and the reading
about 1.5 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.big_config import BigSite, write_big_config
from tests.lab.harness import NGINX_BIN, Lab, can_connect, wait_for
from tests.lab.scenario_support import REPO, WIZARD_TIMEOUT

MakeLab = Callable[..., Lab]
pytestmark = pytest.mark.root

SERVERS = 10_000
SITE = 4242
START_TIMEOUT = 120.0


def timed(argv: list[str], output: Path | None = None) -> tuple[int, float, float]:
    """(exit code, wall seconds, CPU seconds of the process and the children it waited
    for) of one run, from wait4's resource usage; its standard output goes to `output`.
    Past WIZARD_TIMEOUT it is killed: a hang fails the test instead of the whole run."""
    with open(output or os.devnull, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.DEVNULL, cwd=REPO)
        killer = threading.Timer(WIZARD_TIMEOUT, proc.kill)
        killer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.monotonic() - started, usage.ru_utime + usage.ru_stime


def big_lab(make_lab: MakeLab) -> tuple[Lab, BigSite]:
    lab = make_lab(php=False, start_nginx=False)
    site = write_big_config(lab.prefix, servers=SERVERS, locations=2, port=lab.port,
                            closed_port=lab.closed_port)
    return lab, site


def test_ten_thousand_included_files_are_read_and_diagnosed_in_nginx_t_time(
        make_lab: MakeLab, tmp_path: Path) -> None:
    lab, site = big_lab(make_lab)
    assert len(list(site.sites_dir.iterdir())) == SERVERS
    code, nginx_wall, nginx_cpu = timed([NGINX_BIN, "-t", "-q", "-p", f"{lab.prefix}/",
                                         "-c", site.nginx_conf])
    assert code == 0
    # nginx reads all 10,000 files before it listens: longer than the harness waits
    lab.start_nginx(wait=False)
    wait_for(lambda: (lab.prefix / "nginx.pid").exists() and can_connect(
        f"127.0.0.1:{lab.port}"), START_TIMEOUT, "nginx with 10,000 sites")
    name = site.server_name(SITE)
    assert lab.request("/index.php", host=name, timeout=30)[0] == 502

    snapshot = tmp_path / "facts.json"
    url = f"http://{name}:{lab.port}/index.php"
    argv = [sys.executable, "-m", "wizard", "diagnose", "--format", "json", "--nginx-conf",
            site.nginx_conf, "--url", url, "--since", "10m", "--save-snapshot", str(snapshot)]
    code, wall, cpu = timed(argv, tmp_path / "report.json")

    assert code == 1
    assert wall < 4 * nginx_wall + 2, (wall, nginx_wall)
    assert cpu < 3 * nginx_cpu + 2, (cpu, nginx_cpu)
    # The reading alone, in CPU time (steady on a busy machine): the wizard's own work on
    # the config must cost no more than `nginx -t`, which the same process runs.
    servers, own_cpu, nginx_t_cpu = reading_cost(site)
    assert servers == SERVERS
    assert own_cpu < nginx_t_cpu + 1, (own_cpu, nginx_t_cpu)
    nginx: dict[str, Any] = json.loads(snapshot.read_text())["facts"]["nginx"]
    assert len(nginx["servers"]) == SERVERS
    assert len(nginx["files"]) == SERVERS + 1
    report: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    [server_step] = [s for s in report["steps"] if s["node"] == "server_name"]
    assert server_step["summary"] == (f"{name} is served by the server block at "
                                      f"{site.file_of(SITE)}:1 (matched by its exact name)")
    first = report["causes"][0]
    assert first["id"] == "php_fpm_down", [c["id"] for c in report["causes"]]
    assert any(e["detail"].startswith(f"{site.file_of(SITE)}:")
               and e["detail"].endswith(f"fastcgi_pass unix:{site.socket(SITE)}")
               for e in first["evidence"]), first["evidence"]


READING = """\
import resource, sys
from wizard.host.facts import Facts
from wizard.options import Options
nginx = Facts(Options(nginx_conf=sys.argv[1])).get("nginx")
own, kids = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN))
print(len(nginx["servers"]), own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime)
"""


def reading_cost(site: BigSite) -> tuple[int, float, float]:
    """(servers read, CPU seconds of the wizard's own reading, CPU seconds of the commands
    it ran meanwhile: `nginx -t` and `nginx -V`) for the nginx fact alone."""
    done = subprocess.run([sys.executable, "-c", READING, site.nginx_conf],
                          capture_output=True, text=True, timeout=WIZARD_TIMEOUT,
                          check=True, cwd=REPO)
    servers, own, kids = done.stdout.split()
    return int(servers), float(own), float(kids)
