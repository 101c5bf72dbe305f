"""Hostile hosts: configs and services that could hang or crash a diagnosis. Each runs the
real command, `diagnose --format json --nginx-conf CONF`, with the Debian nginx on a
config written here, and asserts the finding a person reads (SECURITY.md, hostile hosts).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require

REPO = Path(__file__).resolve().parents[2]
NGINX = "/usr/sbin/nginx"
FINISHES_WITHIN = 60.0


def diagnose(conf: Path, tmp_path: Path, *extra: str,
             env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                        dict[str, Any], float]:
    require(os.path.exists(NGINX), "nginx is not installed (Debian: nginx)")
    argv = [sys.executable, "-m", "wizard", "diagnose", "--format", "json",
            "--nginx-conf", str(conf), *extra]
    env = env or {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=FINISHES_WITHIN,
                          check=False, cwd=REPO, env=env)
    took = time.monotonic() - started
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr  # 0 nothing found, 1 causes found
    return done, json.loads(done.stdout), took


def step(report: dict[str, Any], node: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["node"] == node)


def write_conf(folder: Path, http_lines: str) -> Path:
    conf = folder / "nginx.conf"
    conf.write_text(f"pid {folder}/nginx.pid;\nevents {{}}\nhttp {{\n{http_lines}\n"
                    "    server { listen 127.0.0.1:9; location / { return 200; } }\n}\n")
    return conf


def test_an_include_loop_is_named_not_a_bare_failure(tmp_path: Path) -> None:
    """nginx 1.22's own `nginx -t` dies of a stack overflow (SIGSEGV) on an include loop,
    printing nothing: the finding says so instead of "test failed"."""
    (tmp_path / "a.conf").write_text(f"include {tmp_path}/b.conf;\n")
    (tmp_path / "b.conf").write_text(f"include {tmp_path}/a.conf;\n")
    conf = write_conf(tmp_path, f"    include {tmp_path}/a.conf;")

    _, report, _ = diagnose(conf, tmp_path)

    found = step(report, "config_valid")
    assert found["status"] == "problem"
    assert "include loop" in found["summary"]
    assert "SIGSEGV" in found["summary"]


def test_a_symlink_loop_in_the_config_tree_ends_with_a_finding(tmp_path: Path) -> None:
    """A folder that links to itself and a file that links to itself, both matched by an
    include glob: reading the config must not follow the loop forever."""
    included = tmp_path / "conf.d"
    included.mkdir()
    (included / "loop").symlink_to(included)
    (included / "self.conf").symlink_to(included / "self.conf")
    (included / "ok.conf").write_text("# fine\n")
    conf = write_conf(tmp_path, f"    include {included}/*.conf;\n"
                                f"    include {included}/loop/loop/loop/*.conf;")

    _, report, took = diagnose(conf, tmp_path)

    found = step(report, "config_valid")
    assert found["status"] == "problem"
    assert "self.conf" in found["summary"]
    assert took < FINISHES_WITHIN


@pytest.fixture
def silent_upstream() -> Iterator[int]:
    """A loopback port whose connections the kernel accepts (the backlog) and nobody ever
    answers: the upstream that hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_an_upstream_that_accepts_and_never_answers_ends_at_the_timeout(
        tmp_path: Path, silent_upstream: int) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
        f"    server {{ listen 127.0.0.1:9; location / {{\n"
        f"        fastcgi_pass 127.0.0.1:{silent_upstream}; }} }}\n}}\n")

    _, report, took = diagnose(conf, tmp_path)

    found = json.dumps(report)
    assert "no FastCGI answer within 3s" in found, step(report, "upstream_reachable")
    assert took < FINISHES_WITHIN


def test_a_state_folder_that_cannot_be_written_is_a_warning(tmp_path: Path) -> None:
    """Read-only or full: the record cannot be saved; the diagnosis is still shown."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    shared = tmp_path / "tmp"
    shared.mkdir()
    (shared / f"nginx-502-wizard-{os.getuid()}").write_text("")  # nor the fallback there
    env = {**os.environ, "XDG_STATE_HOME": str(blocker / "state"), "TMPDIR": str(shared)}
    conf = write_conf(tmp_path, "")

    done, report, _ = diagnose(conf, tmp_path, env=env)

    assert "transcript not saved" in done.stderr
    assert step(report, "config_valid")["status"] == "ok"
    assert "transcript" not in report


SILENT_RESOLVER = """\
import pathlib, socket, sys, time
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.bind(("127.0.0.1", 53))
tcp.listen(16)
pathlib.Path(sys.argv[1]).write_text("listening")
time.sleep(120)  # hold the ports open, answer nothing; killed with the namespace's shell
"""

IN_NAMESPACE = """\
set -e
ip link set lo up
mount --bind "$1/resolv.conf" /etc/resolv.conf
python3 -I "$1/resolver.py" "$1/ready" >/dev/null 2>&1 &
python3 -I -c 'import os, sys, time
deadline = time.monotonic() + 10
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.05)' "$1/ready"
shift
set +e
"$@"
status=$?
kill %1
exit $status
"""


def run_in_own_group(argv: list[str], env: dict[str, str]) -> tuple[str, str]:
    """Run argv; past the limit kill its whole process group (the wizard and the silent
    resolver inside the namespace hold the output pipes open) and fail."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env=env, start_new_session=True)
    try:
        return proc.communicate(timeout=FINISHES_WITHIN)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the diagnosis did not finish within {FINISHES_WITHIN:g}s")


@pytest.mark.root
def test_dns_that_never_answers_ends_at_the_lookup_timeout(tmp_path: Path) -> None:
    """In a private network and mount namespace whose /etc/resolv.conf names a resolver
    that takes every query and never answers (with `options timeout:30 attempts:5` libc
    alone would wait 150 s), the lookup of --url's host ends at the wizard's own deadline
    with a plain reason, and so does the request to it (http.client's timeout does not
    cover the lookup: it took 2 min 22 s before wizard/host/request.py looked up first).
    No proxy_pass names a host here: nginx -t itself would wait on the lookup for its
    own 20 s limit."""
    require(os.geteuid() == 0, "a private network and mount namespace needs root")
    require(shutil.which("unshare") is not None and shutil.which("ip") is not None,
            "unshare or ip is missing (Debian: util-linux, iproute2)")
    (tmp_path / "resolv.conf").write_text(
        "nameserver 127.0.0.1\noptions timeout:30 attempts:5\n")
    (tmp_path / "resolver.py").write_text(SILENT_RESOLVER)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
        "    server { listen 127.0.0.1:9; server_name shop.example;\n"
        "        location / { return 200; } }\n}\n")
    argv = ["unshare", "--mount", "--net", "sh", "-c", IN_NAMESPACE, "ns", str(tmp_path),
            sys.executable, "-m", "wizard", "diagnose", "--format", "json",
            "--nginx-conf", str(conf), "--url", "http://shop.silent-dns.example/"]
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    started = time.monotonic()
    stdout, stderr = run_in_own_group(argv, env)
    took = time.monotonic() - started

    assert "Traceback" not in stderr, stderr
    report = json.loads(stdout)
    url, dns = step(report, "url"), step(report, "dns")
    assert "no answer from the resolver within 5s" in url["summary"], url
    assert "no answer from the resolver within 5s" in dns["summary"], dns
    assert took < 30.0
