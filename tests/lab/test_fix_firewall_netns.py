"""firewall.allow_port and firewall.disable_temporarily for real: iptables, nftables and
ufw inside network namespaces this test creates (and always deletes), so the host's own
firewall is untouched.

Each test drops a port, proves a real TCP connection fails, computes the plan inside the
namespace exactly as the wizard would (the `firewall` fact, then the action's plan), runs
the plan's commands (guards first) with `ip netns exec`, proves the connection succeeds,
runs the plan again (every guard skips, no second rule), runs the undo and proves the
connection fails again. iptables and nftables use loopback inside the namespace; ufw
always accepts loopback (its before.rules), so its traffic crosses a veth pair between
two private namespaces instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import require

pytestmark = pytest.mark.root

PORT = 18080
PLAN = """
import json, sys
from wizard.fixes import load_all
from wizard.host.facts import Facts
from wizard.options import Options
from wizard.fixes.base import FixNotApplicable
facts = Facts(Options(nginx_conf=sys.argv[1]))
try:
    plan = load_all()[sys.argv[2]].plan(json.loads(sys.argv[3]), facts)
    print(json.dumps(plan.to_json()))
except FixNotApplicable as exc:
    print(json.dumps({"unavailable": str(exc)}))
"""
SERVE = """
import socket, sys
server = socket.create_server(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.close()
"""
CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.0).close()
    print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=check)


@dataclass
class Lab:
    ns: str  # where the firewall and the server are
    client: str  # where connections come from (== ns for loopback)
    address: str  # the server's address as the client sees it
    conf: str  # an nginx.conf that listens on PORT, so the fact judges that port

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns, *argv, check=check)

    def connects(self) -> bool:
        out = sh("ip", "netns", "exec", self.client, sys.executable, "-c", CONNECT,
                 self.address, str(PORT)).stdout.strip()
        return out == "connected"

    def plan(self, action: str, args: dict[str, str]) -> dict[str, Any]:
        return json.loads(self.run(sys.executable, "-c", PLAN, self.conf, action,
                                   json.dumps(args)).stdout)

    def apply(self, plan: dict[str, Any]) -> list[str]:
        """Run the plan like apply.py does (guards skip commands already in effect);
        returns what happened to each command: ran / skipped."""
        done = []
        for i, argv in enumerate(plan["commands"]):
            guard = plan["guards"][i] if i < len(plan["guards"]) else None
            if guard and self.run(*guard, check=False).returncode == 0:
                done.append("skipped")
                continue
            result = self.run(*argv, check=False)
            assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
            done.append("ran")
        return done

    def undo(self, plan: dict[str, Any]) -> None:
        for argv in plan["undo"]:
            result = self.run(*argv, check=False)
            assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"


def _new_ns(made: list[str]) -> str:
    name = f"wizfx{uuid.uuid4().hex[:10]}"
    created = sh("ip", "netns", "add", name, check=False)
    require(created.returncode == 0, f"ip netns add failed: {created.stderr.strip()}")
    made.append(name)
    sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
    return name


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[Callable[[bool], Lab]]:
    """make_lab(veth) -> a Lab with a server listening on PORT; all removed afterwards."""
    require(os.geteuid() == 0, "needs root to create network namespaces")
    require(shutil.which("ip") is not None, "needs iproute2 (ip netns)")
    made: list[str] = []
    servers: list[subprocess.Popen[str]] = []
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"events {{}}\nhttp {{ server {{ listen {PORT}; }} }}\n", encoding="utf-8")

    def factory(veth: bool) -> Lab:
        ns = _new_ns(made)
        client, address = ns, "127.0.0.1"
        if veth:
            client = _new_ns(made)
            a, b = f"va{ns[-8:]}", f"vb{ns[-8:]}"
            sh("ip", "link", "add", a, "netns", ns, "type", "veth", "peer", "name", b,
               "netns", client)
            for where, dev, ip in ((ns, a, "10.77.0.1/24"), (client, b, "10.77.0.2/24")):
                sh("ip", "netns", "exec", where, "ip", "addr", "add", ip, "dev", dev)
                sh("ip", "netns", "exec", where, "ip", "link", "set", dev, "up")
            address = "10.77.0.1"
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVE,
                                   str(PORT)], stdout=subprocess.PIPE, text=True)
        servers.append(server)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        lab = Lab(ns, client, address, str(conf))
        assert lab.connects(), "the lab's server must answer before any rule is added"
        return lab

    try:
        yield factory
    finally:
        for server in servers:
            server.kill()
            server.wait(timeout=10)
        for name in made:
            sh("ip", "netns", "del", name, check=False)
            shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
        if os.path.isdir("/etc/netns") and not os.listdir("/etc/netns"):
            os.rmdir("/etc/netns")


def count(text: str, *words: str) -> int:
    return sum(1 for line in text.splitlines() if all(w in line.split() for w in words))


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds:g}s waiting for {what}")


def allow_twice_then_undo(lab: Lab, rules: Callable[[], int]) -> dict[str, Any]:
    assert not lab.connects(), "the drop must really stop the connection"
    plan = lab.plan("firewall.allow_port", {"port": str(PORT)})
    assert lab.apply(plan)[0] == "ran"
    assert lab.connects()
    assert rules() == 1
    # planned again on the fixed host there is nothing left to do...
    again = lab.plan("firewall.allow_port", {"port": str(PORT)})
    assert again == {"unavailable": f"the firewall already lets TCP port {PORT} in: "
                                    "nothing to change"}
    # ...and the same plan run a second time skips every command through its guards
    assert set(lab.apply(plan)) == {"skipped"}
    assert rules() == 1, "a second run must not add a duplicate rule"
    lab.undo(plan)
    assert rules() == 0
    assert not lab.connects(), "the undo must put the block back"
    return plan


# ---------------------------------------------------------------- allow_port

def test_iptables_accept_goes_before_the_drop(make_lab: Callable[[bool], Lab]) -> None:
    require(shutil.which("iptables") is not None, "needs the iptables package")
    lab = make_lab(False)
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")

    def rules() -> int:
        return count(lab.run("iptables", "-S", "INPUT").stdout, str(PORT), "ACCEPT")

    plan = allow_twice_then_undo(lab, rules)
    assert plan["commands"][0][3:6] == ["-I", "INPUT", "2"]  # just before the DROP


def test_iptables_drop_in_a_user_chain(make_lab: Callable[[bool], Lab]) -> None:
    require(shutil.which("iptables") is not None, "needs the iptables package")
    lab = make_lab(False)
    lab.run("iptables", "-N", "WEB")
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "-j", "WEB")
    lab.run("iptables", "-A", "WEB", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")

    def rules() -> int:
        return count(lab.run("iptables", "-S").stdout, str(PORT), "ACCEPT")

    plan = allow_twice_then_undo(lab, rules)
    assert plan["commands"][0][3:6] == ["-I", "WEB", "1"]


def test_nft_accept_goes_into_the_dropping_chain(make_lab: Callable[[bool], Lab]) -> None:
    require(shutil.which("nft") is not None, "needs the nftables package")
    lab = make_lab(False)
    lab.run("nft", "add", "table", "inet", "wizlab")
    lab.run("nft", "add chain inet wizlab input { type filter hook input priority 0;"
                   " policy accept; }")
    lab.run("nft", "add", "rule", "inet", "wizlab", "input", "tcp", "dport", "22", "accept")
    lab.run("nft", "add", "rule", "inet", "wizlab", "input", "tcp", "dport", str(PORT), "drop")
    # an accept in a table of our own would not help: this one must stay untouched
    lab.run("nft", "add", "table", "inet", "other")
    lab.run("nft", "add chain inet other input { type filter hook input priority 10;"
                   " policy accept; }")

    def rules() -> int:
        return count(lab.run("nft", "list", "ruleset").stdout, str(PORT), "accept")

    plan = allow_twice_then_undo(lab, rules)
    assert plan["commands"][0][:7] == ["nft", "insert", "rule", "inet", "wizlab", "input",
                                       "position"]
    listing = lab.run("nft", "list", "table", "inet", "other").stdout
    assert "dport" not in listing


def test_ufw_allow_over_veth(make_lab: Callable[[bool], Lab]) -> None:
    require(shutil.which("ufw") is not None, "needs the ufw package")
    lab = make_lab(True)
    # `ip netns exec` bind-mounts /etc/netns/NS/ufw over /etc/ufw: an isolated ufw
    shutil.copytree("/etc/ufw", f"/etc/netns/{lab.ns}/ufw", symlinks=True)
    host_conf = Path("/etc/ufw/ufw.conf").read_text(encoding="utf-8")
    enabled = lab.run("ufw", "--force", "enable", check=False)
    require(enabled.returncode == 0, f"ufw cannot be enabled in a namespace: {enabled.stderr}")
    lab.run("ufw", "deny", f"{PORT}/tcp")

    def rules() -> int:
        v4 = [line for line in lab.run("ufw", "status").stdout.splitlines()
              if "(v6)" not in line]
        return count("\n".join(v4), f"{PORT}/tcp", "ALLOW")

    plan = lab.plan("firewall.allow_port", {"port": str(PORT)})
    assert plan["commands"] == [["ufw", "allow", f"{PORT}/tcp"]]
    allow_twice_then_undo(lab, rules)
    assert Path("/etc/ufw/ufw.conf").read_text(encoding="utf-8") == host_conf


# ---------------------------------------------------------------- timed disable

def _timed_disable(lab: Lab, rules_back: Callable[[], bool]) -> dict[str, Any]:
    assert not lab.connects()
    plan = lab.plan("firewall.disable_temporarily", {"seconds": "2"})
    assert any("timed_disable" in " ".join(c) and "after" in c for c in plan["commands"])
    started = time.monotonic()
    lab.apply(plan)
    opened, probed_at = lab.connects(), time.monotonic() - started
    # the apply and the probe take well under 2s here; if the machine was too slow for
    # that, the timer may have fired already and the probe proves nothing either way
    assert opened or probed_at > 2.0, "the firewall must be open right after the plan ran"
    # the detached process puts the rules back by itself
    wait_until(rules_back, 20, "the firewall to come back by itself")
    assert time.monotonic() - started >= 1.5
    assert not lab.connects()
    timer = next(c for c in plan["commands"] if "after" in c and "--log" in c)
    log = Path(timer[timer.index("--log") + 1])
    wait_until(lambda: log.exists() and ": exit 0" in log.read_text(encoding="utf-8"), 10,
               "the detached process to log its restore")
    log.unlink()
    if not os.listdir(log.parent):
        log.parent.rmdir()
    return plan


def test_timed_disable_iptables_comes_back(make_lab: Callable[[bool], Lab]) -> None:
    require(shutil.which("iptables") is not None, "needs the iptables package")
    lab = make_lab(False)
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")
    before = lab.run("iptables", "-S").stdout
    plan = _timed_disable(lab, lambda: lab.run("iptables", "-S").stdout == before)
    for argv in plan["commands"]:
        if "-f" in argv and argv[0].endswith("-save"):
            os.unlink(argv[argv.index("-f") + 1])


def test_timed_disable_nft_comes_back(make_lab: Callable[[bool], Lab]) -> None:
    require(shutil.which("nft") is not None, "needs the nftables package")
    lab = make_lab(False)
    lab.run("nft", "add", "table", "inet", "wizlab")
    lab.run("nft", "add chain inet wizlab input { type filter hook input priority 0;"
                   " policy accept; }")
    lab.run("nft", "add", "rule", "inet", "wizlab", "input", "tcp", "dport", str(PORT), "drop")
    before = lab.run("nft", "list", "ruleset").stdout
    plan = _timed_disable(lab, lambda: lab.run("nft", "list", "ruleset").stdout == before)
    os.unlink(plan["undo"][0][-1])


def test_timed_disable_ufw_comes_back(make_lab: Callable[[bool], Lab]) -> None:
    require(shutil.which("ufw") is not None, "needs the ufw package")
    lab = make_lab(True)
    shutil.copytree("/etc/ufw", f"/etc/netns/{lab.ns}/ufw", symlinks=True)
    enabled = lab.run("ufw", "--force", "enable", check=False)
    require(enabled.returncode == 0, f"ufw cannot be enabled in a namespace: {enabled.stderr}")
    lab.run("ufw", "deny", f"{PORT}/tcp")
    _timed_disable(lab, lambda: "Status: active" in lab.run("ufw", "status").stdout)


def test_plan_that_would_cut_the_ssh_session_is_refused(make_lab: Callable[[bool], Lab]
                                                        ) -> None:
    """With SSH_CONNECTION naming port 18080, a plan whose undo would close it warns, and
    a command that drops it is refused before anything runs."""
    lab = make_lab(False)
    lab.run("iptables", "-P", "INPUT", "DROP")
    env = {**os.environ, "SSH_CONNECTION": f"10.0.0.9 50000 10.0.0.1 {PORT}"}
    code = ("import json,sys\n"
            "from wizard.fixes.ssh_guard import protected_ports, refuse_if_cut\n"
            "from wizard.fixes.base import FixNotApplicable\n"
            "try:\n"
            "    refuse_if_cut([json.loads(sys.argv[1])], protected_ports())\n"
            "    print('allowed')\n"
            "except FixNotApplicable as exc:\n"
            "    print(exc)\n")
    drop = ["iptables", "-I", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP"]
    out = subprocess.run(["ip", "netns", "exec", lab.ns, sys.executable, "-c", code,
                          json.dumps(drop)], capture_output=True, text=True, env=env,
                         timeout=60, check=True).stdout
    assert out.startswith("refused:") and f"port {PORT}" in out
    allowed = subprocess.run(["ip", "netns", "exec", lab.ns, sys.executable, "-c", PLAN,
                              lab.conf, "firewall.allow_port", json.dumps({"port": str(PORT)})],
                             capture_output=True, text=True, env=env, timeout=60, check=True)
    plan = json.loads(allowed.stdout)
    assert any("undo" in note and str(PORT) in note for note in plan["notes"])
    timed = subprocess.run(["ip", "netns", "exec", lab.ns, sys.executable, "-c", PLAN,
                            lab.conf, "firewall.disable_temporarily",
                            json.dumps({"seconds": "2"})],
                           capture_output=True, text=True, env=env, timeout=60, check=True)
    assert f"SSH port {PORT} stays reachable" in json.loads(timed.stdout)["notes"][0]


# ---------------------------------------------------------------- firewalld

def _tree(folder: str) -> dict[str, bytes]:
    root = Path(folder)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


DBUS_SOCKET, DBUS_PID = "/run/dbus/system_bus_socket", "/run/dbus/pid"


def _system_bus_answers() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(DBUS_SOCKET)
            return True
        except OSError:
            return False


def _remove_stale_dbus_files() -> None:
    """A dbus-daemon killed without cleaning up leaves these, and a new one then refuses to
    start; removed only when nothing answers on the socket."""
    if not _system_bus_answers():
        Path(DBUS_PID).unlink(missing_ok=True)
        Path(DBUS_SOCKET).unlink(missing_ok=True)


@pytest.fixture
def firewalld_lab(make_lab: Callable[[bool], Lab], tmp_path: Path) -> Iterator[Lab]:
    """A real firewalld in the lab's namespace, reached by firewall-cmd over the system
    D-Bus (started here when none runs). Its config is a temp copy (--system-config), so
    the host's /etc/firewalld is never written; it leaves an empty /run/firewalld, which
    is removed again when this test made it."""
    require(shutil.which("firewalld") is not None and shutil.which("firewall-cmd") is not None,
            "needs the firewalld package")
    require(shutil.which("dbus-daemon") is not None, "needs dbus-daemon for firewalld")
    lab = make_lab(True)
    made_run_dir = not os.path.exists("/run/firewalld")
    host_config = _tree("/etc/firewalld")
    started_dbus = not _system_bus_answers()
    if started_dbus:
        _remove_stale_dbus_files()
        os.makedirs("/run/dbus", exist_ok=True)
        sh("dbus-daemon", "--system", "--fork")
        wait_until(_system_bus_answers, 10, "the system D-Bus to answer")
    require(lab.run("firewall-cmd", "--state", check=False).returncode != 0,
            "a firewalld already answers on the system bus; this test will not touch it")
    config = tmp_path / "firewalld"
    shutil.copytree("/etc/firewalld", config, symlinks=True)
    daemon = subprocess.Popen(["ip", "netns", "exec", lab.ns, "firewalld", "--nofork",
                               "--nopid", "--system-config", str(config), "--log-target",
                               "console"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_until(lambda: daemon.poll() is not None or lab.run(
            "firewall-cmd", "--state", check=False).stdout.strip() == "running", 60,
            "firewalld to be running")
        assert daemon.poll() is None, f"firewalld stopped: {daemon.stderr.read()[-2000:]}" \
            if daemon.stderr else "firewalld stopped"
        yield lab
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=10)
        if started_dbus:
            pid = Path("/run/dbus/pid")
            if pid.exists():
                sh("kill", pid.read_text(encoding="utf-8").strip(), check=False)
                wait_until(lambda: not _system_bus_answers(), 10, "the D-Bus we started to stop")
            _remove_stale_dbus_files()
        if made_run_dir:
            shutil.rmtree("/run/firewalld", ignore_errors=True)
        assert _tree("/etc/firewalld") == host_config, "the host's firewalld config changed"


def test_firewalld_allow_port_runtime_and_permanent(firewalld_lab: Lab) -> None:
    lab = firewalld_lab
    spec = f"{PORT}/tcp"

    def queried(*permanent: str) -> bool:
        return lab.run("firewall-cmd", *permanent, f"--query-port={spec}",
                       check=False).returncode == 0

    assert not lab.connects(), "the public zone must reject the port at first"
    plan = lab.plan("firewall.allow_port", {"port": str(PORT)})
    assert plan["commands"] == [["firewall-cmd", "--zone=public", f"--add-port={spec}"],
                                ["firewall-cmd", "--permanent", "--zone=public",
                                 f"--add-port={spec}"]]
    assert lab.apply(plan) == ["ran", "ran"]
    assert queried() and queried("--permanent")
    assert lab.connects()
    assert lab.apply(plan) == ["skipped", "skipped"]
    ports = lab.run("firewall-cmd", "--list-ports").stdout.split()
    assert ports.count(spec) == 1
    assert "unavailable" in lab.plan("firewall.allow_port", {"port": str(PORT)})
    lab.undo(plan)
    assert not queried() and not queried("--permanent")
    assert not lab.connects()


def test_firewalld_timed_open_removes_itself(firewalld_lab: Lab) -> None:
    lab = firewalld_lab
    assert not lab.connects()
    plan = lab.plan("firewall.disable_temporarily", {"seconds": "2"})
    assert all("--timeout=2s" in argv for argv in plan["commands"])
    started = time.monotonic()
    lab.apply(plan)
    opened, probed_at = lab.connects(), time.monotonic() - started
    assert opened or probed_at > 2.0, "the zone must be open right after the plan ran"
    rule = plan["guards"][0][-1].removeprefix("--query-rich-rule=")
    wait_until(lambda: lab.run("firewall-cmd", f"--query-rich-rule={rule}",
                               check=False).returncode != 0, 20,
               "firewalld to remove the timed rule by itself")
    assert not lab.connects()
