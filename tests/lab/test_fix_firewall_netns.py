"""firewall.allow_port and firewall.disable_temporarily for real: iptables, nftables,
ufw and firewalld inside network namespaces this test creates (and always deletes), so
the host's own firewall is untouched.

Every plan is made and applied by the wizard's own code inside the namespace: the driver
tests/lab/netns_apply.py, started with `ip netns exec`, plans with the fix action on the
namespace's `firewall` fact and applies with the real `apply_fix` (or `Session.apply_fix`,
which also runs the step's check again). So the preconditions, guards, undo-on-failure
and the SSH guard below are the ones a person's "yes" runs. Undo commands are run by
hand, as a person would paste them.

iptables and nftables use loopback inside the namespace; ufw always accepts loopback
(its before.rules), so its traffic crosses a veth pair between two private namespaces
instead. Firewall rules are only ever changed inside these namespaces.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.e2e.pane import Pane
from tests.support import require

pytestmark = pytest.mark.root

PORT = 18080
SSH_PORT = 2222  # the live session's port in the SSH-guard test
REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("netns_apply.py")
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
GET = """
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=2)
try:
    conn.request("GET", "/")
    answer = conn.getresponse()
    print(answer.status, answer.read().decode().strip())
except OSError as exc:
    print(type(exc).__name__)
"""



def end_process(proc: subprocess.Popen[str], grace: float) -> None:
    """SIGTERM, then SIGKILL when it has not ended within `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)

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

    def connects(self, port: int = PORT) -> bool:
        out = sh("ip", "netns", "exec", self.client, sys.executable, "-c", CONNECT,
                 self.address, str(port)).stdout.strip()
        return out == "connected"

    def driver(self, *args: str, stdin: str | None = None,
               env: dict[str, str] | None = None) -> dict[str, Any]:
        """The wizard's own planning / apply code, run inside the namespace."""
        done = subprocess.run(["ip", "netns", "exec", self.ns, sys.executable, "-I",
                               str(DRIVER), *args], input=stdin, capture_output=True,
                              text=True, timeout=180, env=env, check=False)
        assert done.returncode == 0, f"driver {args[0]} failed:\n{done.stderr[-3000:]}"
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def plan(self, action: str, args: dict[str, str], env: dict[str, str] | None = None,
             append: list[str] | None = None) -> dict[str, Any]:
        extra = ["--append", json.dumps(append)] if append else []
        return self.driver("plan", self.conf, action, json.dumps(args), *extra, env=env)

    def apply(self, plan: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
        """apply_fix(plan) in the namespace; the AppliedFix as JSON."""
        applied: dict[str, Any] = self.driver("apply", stdin=json.dumps(plan), env=env)["applied"]
        return applied

    def session_fix(self, action: str) -> dict[str, Any]:
        """The flow's firewall step checked here, its `action` offer applied through
        Session.apply_fix: {"plan", "applied", "output"}."""
        return self.driver("session", self.conf, "firewall", action)

    def undo(self, plan: dict[str, Any]) -> None:
        for argv in plan["undo"]:
            result = self.run(*argv, check=False)
            assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"

    def ruleset(self) -> tuple[str, str]:
        """iptables-save (without its dated comment lines) and `nft list ruleset`."""
        saved = [line for line in self.run("iptables-save").stdout.splitlines()
                 if not line.startswith("#")]
        return "\n".join(saved), self.run("nft", "list", "ruleset").stdout


def ran(applied: dict[str, Any]) -> list[str]:
    """What became of each of the plan's commands: ran, or skipped by its guard."""
    return ["skipped" if r["role"] == "guard" and r["returncode"] == 0 else "ran"
            for r in applied["commands"] if r["role"] == "command"
            or (r["role"] == "guard" and r["returncode"] == 0)]


def roles(applied: dict[str, Any]) -> list[str]:
    return [r["role"] for r in applied["commands"]]


def _new_ns(made: list[str]) -> str:
    name = f"wizfx{uuid.uuid4().hex[:10]}"
    created = sh("ip", "netns", "add", name, check=False)
    require(created.returncode == 0, f"ip netns add failed: {created.stderr.strip()}")
    made.append(name)
    sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
    return name


def _remove_namespaces(made: list[str]) -> None:
    for name in made:
        sh("ip", "netns", "del", name, check=False)
        shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
    if os.path.isdir("/etc/netns") and not os.listdir("/etc/netns"):
        os.rmdir("/etc/netns")


@pytest.fixture
def make_lab(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    """make_lab(veth, serve=True) -> a Lab (with a server listening on PORT unless
    serve=False); all removed afterwards, passed or failed."""
    require(os.geteuid() == 0, "needs root to create network namespaces")
    require(shutil.which("ip") is not None, "needs iproute2 (ip netns)")
    made: list[str] = []
    servers: list[subprocess.Popen[str]] = []
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"events {{}}\nhttp {{ server {{ listen {PORT}; }} }}\n", encoding="utf-8")

    def factory(veth: bool, serve: bool = True) -> Lab:
        ns = _new_ns(made)
        client, address = ns, "127.0.0.1"
        if veth:
            client = _new_ns(made)
            a, b = f"va{ns[-8:]}", f"vb{ns[-8:]}"
            sh("ip", "link", "add", a, "netns", ns, "type", "veth", "peer", "name", b,
               "netns", client)
            for where, dev, ip in ((ns, a, "10.77.0.1/24"), (client, b, "10.77.0.2/24")):
                # no IPv6 neighbour chatter on the link: the rule counters that `nft list
                # ruleset` shows stay still unless the test itself sends traffic
                sh("ip", "netns", "exec", where, "sysctl", "-qw",
                   f"net.ipv6.conf.{dev}.disable_ipv6=1")
                sh("ip", "netns", "exec", where, "ip", "addr", "add", ip, "dev", dev)
                sh("ip", "netns", "exec", where, "ip", "link", "set", dev, "up")
            address = "10.77.0.1"
        lab = Lab(ns, client, address, str(conf))
        if serve:
            server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVE,
                                       str(PORT)], stdout=subprocess.PIPE, text=True)
            servers.append(server)
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
            assert lab.connects(), "the lab's server must answer before any rule is added"
        return lab

    try:
        yield factory
    finally:
        for server in servers:
            server.kill()
            server.wait(timeout=10)
        _remove_namespaces(made)


def count(text: str, *words: str) -> int:
    return sum(1 for line in text.splitlines() if all(w in line.split() for w in words))


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)  # the poll interval of a wait with a deadline
    pytest.fail(f"timed out after {seconds:g}s waiting for {what}")


def refused_as_changed(applied: dict[str, Any]) -> bool:
    """apply_fix read a precondition's listing again, found it changed, ran nothing."""
    return (not applied["succeeded"] and applied["after"].startswith("not applied: ")
            and "changed since the plan was made, so nothing was run" in applied["after"]
            and set(roles(applied)) == {"precondition"})


def allow_twice_then_undo(lab: Lab, rules: Callable[[], int]) -> dict[str, Any]:
    assert not lab.connects(), "the drop must really stop the connection"
    fixed = lab.session_fix("firewall.allow_port")
    plan, applied = fixed["plan"], fixed["applied"]
    assert applied["succeeded"], fixed["output"]
    # judged on fresh evidence: the step's firewall check, run again, passes
    assert applied["proof"] == "fixed" and applied["after"].startswith("fixed: "), applied
    assert roles(applied)[0] == "precondition" and ran(applied)[0] == "ran"
    assert lab.connects()
    assert rules() == 1
    # planned again on the fixed host there is nothing left to do...
    again = lab.plan("firewall.allow_port", {"port": str(PORT)})
    assert again == {"unavailable": f"the firewall already lets TCP port {PORT} in: "
                                    "nothing to change"}
    # ...the same plan confirmed a second time finds its listing changed (by itself) and
    # runs nothing...
    assert refused_as_changed(lab.apply(plan))
    assert rules() == 1
    # ...and a plan without a precondition (its listing was unreadable when planned)
    # still never adds a duplicate: every guard skips its command
    unpinned = lab.apply({**plan, "preconditions": []})
    assert unpinned["succeeded"] and set(ran(unpinned)) == {"skipped"}
    assert rules() == 1, "a second run must not add a duplicate rule"
    lab.undo(plan)
    assert rules() == 0
    assert not lab.connects(), "the undo must put the block back"
    return plan


def _enable_ufw(lab: Lab) -> None:
    # `ip netns exec` bind-mounts /etc/netns/NS/ufw over /etc/ufw: an isolated ufw
    shutil.copytree("/etc/ufw", f"/etc/netns/{lab.ns}/ufw", symlinks=True)
    enabled = lab.run("ufw", "--force", "enable", check=False)
    require(enabled.returncode == 0, f"ufw cannot be enabled in a namespace: {enabled.stderr}")


def _nft_lab(lab: Lab) -> None:
    lab.run("nft", "add", "table", "inet", "wizlab")
    lab.run("nft", "add chain inet wizlab input { type filter hook input priority 0;"
                   " policy accept; }")
    lab.run("nft", "add", "rule", "inet", "wizlab", "input", "tcp", "dport", "22", "accept")
    lab.run("nft", "add", "rule", "inet", "wizlab", "input", "tcp", "dport", str(PORT), "drop")


def _require(tool: str) -> None:
    package = {"nft": "nftables"}.get(tool, tool)
    require(shutil.which(tool) is not None, f"needs the {package} package")


def _blocked_lab(make_lab: Callable[..., Lab], kind: str, veth: bool = False) -> Lab:
    """A lab whose `kind` firewall drops PORT (over veth for ufw, or when asked)."""
    _require({"nftables": "nft"}.get(kind, kind))
    lab = make_lab(veth or kind == "ufw")
    if kind == "iptables":
        lab.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")
    elif kind == "nftables":
        _nft_lab(lab)
    else:
        _enable_ufw(lab)
        lab.run("ufw", "deny", f"{PORT}/tcp")
    assert not lab.connects()
    if kind == "ufw":
        # `ufw enable` leaves its IPv6 limit chains empty until the next reload fills
        # them, and every reload zeroes the counters: reload once, as any booted host
        # has, so ufw's own reload in each rule change does not show as a difference
        lab.run("ufw", "reload")
    return lab


# ---------------------------------------------------------------- allow_port

def test_iptables_accept_goes_before_the_drop(make_lab: Callable[..., Lab]) -> None:
    _require("iptables")
    lab = make_lab(False)
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")

    def rules() -> int:
        return count(lab.run("iptables", "-S", "INPUT").stdout, str(PORT), "ACCEPT")

    plan = allow_twice_then_undo(lab, rules)
    assert plan["commands"][0][3:6] == ["-I", "INPUT", "2"]  # just before the DROP


def test_iptables_drop_in_a_user_chain(make_lab: Callable[..., Lab]) -> None:
    _require("iptables")
    lab = make_lab(False)
    lab.run("iptables", "-N", "WEB")
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "-j", "WEB")
    lab.run("iptables", "-A", "WEB", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")

    def rules() -> int:
        return count(lab.run("iptables", "-S").stdout, str(PORT), "ACCEPT")

    plan = allow_twice_then_undo(lab, rules)
    assert plan["commands"][0][3:6] == ["-I", "WEB", "1"]


def test_nft_accept_goes_into_the_dropping_chain(make_lab: Callable[..., Lab]) -> None:
    _require("nft")
    lab = make_lab(False)
    _nft_lab(lab)
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


def test_ufw_allow_over_veth(make_lab: Callable[..., Lab]) -> None:
    _require("ufw")
    host_conf = Path("/etc/ufw/ufw.conf").read_text(encoding="utf-8")
    lab = _blocked_lab(make_lab, "ufw")

    def rules() -> int:
        v4 = [line for line in lab.run("ufw", "status").stdout.splitlines()
              if "(v6)" not in line]
        return count("\n".join(v4), f"{PORT}/tcp", "ALLOW")

    plan = allow_twice_then_undo(lab, rules)
    assert plan["commands"] == [["ufw", "allow", f"{PORT}/tcp"]]
    assert Path("/etc/ufw/ufw.conf").read_text(encoding="utf-8") == host_conf


# ---------------------------------------------------------------- a failed command

# A second command that fails for real, appended to the action's own plan: a chain, or a
# rule position, that does not exist.
FAILING = {
    "iptables": lambda tool: [tool, "-t", "filter", "-I", "WIZ_NO_SUCH_CHAIN", "-p", "tcp",
                              "--dport", str(PORT), "-j", "ACCEPT"],
    "nftables": lambda tool: ["nft", "insert", "rule", "inet", "wizlab", "no_such_chain",
                              "tcp", "dport", str(PORT), "accept"],
    "ufw": lambda tool: ["ufw", "insert", "99", "allow", f"{PORT + 1}/tcp"],
}


@pytest.mark.parametrize("kind", ["iptables", "nftables", "ufw"])
def test_a_failed_second_command_leaves_the_ruleset_as_it_was(
        make_lab: Callable[..., Lab], kind: str) -> None:
    lab = _blocked_lab(make_lab, kind)
    plan = lab.plan("firewall.allow_port", {"port": str(PORT)})
    failing = FAILING[kind](plan["commands"][0][0])
    before = lab.ruleset()
    applied = lab.apply({**plan, "commands": [*plan["commands"], failing]})
    after = lab.ruleset()
    commands = [(r["argv"], r["returncode"]) for r in applied["commands"]
                if r["role"] == "command"]
    assert commands[0] == (plan["commands"][0], 0), "the real change ran first"
    assert commands[-1][0] == failing and commands[-1][1] not in (0, None)
    assert "rollback" in roles(applied)
    assert not applied["succeeded"]
    assert applied["after"] == "rolled back: a command failed; the undo commands ran"
    assert after == before, "the undo must leave the ruleset byte for byte as it was"
    assert not lab.connects()


# ---------------------------------------------------------------- changed since the plan

SOMEONE_ELSE = {  # a rule another admin adds between the plan and the person's "yes"
    "iptables": ["iptables", "-I", "INPUT", "1", "-p", "tcp", "--dport", "9999", "-j",
                 "ACCEPT"],
    "nftables": ["nft", "insert", "rule", "inet", "wizlab", "input", "tcp", "dport", "9999",
                 "accept"],
    "ufw": ["ufw", "deny", "9999/tcp"],
}


@pytest.mark.parametrize("action", ["firewall.allow_port", "firewall.disable_temporarily"])
@pytest.mark.parametrize("kind", ["iptables", "nftables", "ufw"])
def test_rules_changed_after_the_plan_make_apply_refuse(
        make_lab: Callable[..., Lab], kind: str, action: str) -> None:
    lab = _blocked_lab(make_lab, kind)
    args = {"port": str(PORT)} if action.endswith("allow_port") else {"seconds": "60"}
    plan = lab.plan(action, args)
    lab.run(*SOMEONE_ELSE[kind])
    before = lab.ruleset()
    applied = lab.apply(plan)
    assert refused_as_changed(applied), applied
    assert lab.ruleset() == before, "nothing may run once the rules changed"
    assert not lab.connects()


# ---------------------------------------------------------------- timed disable

def _stash_files(plan: dict[str, Any]) -> list[Path]:
    """The files a timed disable leaves in STASH_DIR: saved rules, the timer's log."""
    words = [w for argv in plan["commands"] for w in argv]
    return [Path(w) for w in words if w.startswith("/run/nginx-502-wizard/")]


@pytest.fixture
def timed_disable() -> Iterator[Callable[[Lab, Callable[[], bool]], dict[str, Any]]]:
    """Runs _timed_disable; the files it left in /run are removed afterwards, also when
    the test fails (the folder too, when it is empty then)."""
    plans: list[dict[str, Any]] = []
    try:
        yield lambda lab, rules_back: _timed_disable(lab, rules_back, plans)
    finally:
        for path in (p for plan in plans for p in _stash_files(plan)):
            path.unlink(missing_ok=True)
            if path.parent.is_dir() and not os.listdir(path.parent):
                path.parent.rmdir()


def _timed_disable(lab: Lab, rules_back: Callable[[], bool],
                   plans: list[dict[str, Any]]) -> dict[str, Any]:
    assert not lab.connects()
    seconds = 4  # the driver starts a Python of its own: leave room to probe in time
    plan = lab.plan("firewall.disable_temporarily", {"seconds": str(seconds)})
    plans.append(plan)
    assert any("timed_disable" in " ".join(c) and "after" in c for c in plan["commands"])
    started = time.monotonic()
    applied = lab.apply(plan)
    assert applied["succeeded"], applied
    opened, probed_at = lab.connects(), time.monotonic() - started
    # the timer started after `started`: probed within `seconds` of it, it cannot have
    # fired yet; on a machine slow enough to miss that, the probe proves nothing
    assert opened or probed_at > seconds, "the firewall must be open right after the plan ran"
    # the detached process puts the rules back by itself
    wait_until(rules_back, 30, "the firewall to come back by itself")
    assert time.monotonic() - started >= seconds - 0.5
    assert not lab.connects()
    timer = next(c for c in plan["commands"] if "after" in c and "--log" in c)
    log = Path(timer[timer.index("--log") + 1])
    wait_until(lambda: log.exists() and ": exit 0" in log.read_text(encoding="utf-8"), 10,
               "the detached process to log its restore")
    return plan


TimedDisable = Callable[[Lab, Callable[[], bool]], dict[str, Any]]


def test_timed_disable_iptables_comes_back(make_lab: Callable[..., Lab],
                                           timed_disable: TimedDisable) -> None:
    lab = _blocked_lab(make_lab, "iptables")
    before = lab.run("iptables", "-S").stdout
    timed_disable(lab, lambda: lab.run("iptables", "-S").stdout == before)


def test_timed_disable_nft_comes_back(make_lab: Callable[..., Lab],
                                      timed_disable: TimedDisable) -> None:
    lab = _blocked_lab(make_lab, "nftables")
    before = lab.run("nft", "list", "ruleset").stdout
    timed_disable(lab, lambda: lab.run("nft", "list", "ruleset").stdout == before)


def test_timed_disable_ufw_comes_back(make_lab: Callable[..., Lab],
                                      timed_disable: TimedDisable) -> None:
    lab = _blocked_lab(make_lab, "ufw")
    timed_disable(lab, lambda: "Status: active" in lab.run("ufw", "status").stdout)


# ---------------------------------------------------------------- a live session

# In the namespace: accept one connection, say who it is from, echo until it closes.
SESSION_SERVER = """
import socket, sys
server = socket.create_server(("0.0.0.0", int(sys.argv[1])))
print("listening", flush=True)
conn, _ = server.accept()
client, server_end = conn.getpeername(), conn.getsockname()
print("peer", client[0], client[1], server_end[0], server_end[1], flush=True)
while data := conn.recv(4096):
    conn.sendall(data)
"""
# From the client namespace: connect, then send each line read on stdin and print the echo.
SESSION_CLIENT = """
import socket, sys
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("connected", flush=True)
for line in sys.stdin:
    conn.sendall(line.encode())
    try:
        print("echo", conn.recv(4096).decode().strip(), flush=True)
    except OSError as exc:
        print("lost", type(exc).__name__, flush=True)
"""


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """The stream's lines as they come, read by a thread, so a test waits with a deadline
    (queue.get(timeout=...)) instead of blocking on a readline that never returns."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.strip())

    threading.Thread(target=pump, daemon=True).start()
    return lines


class HeldSession:
    """A real TCP connection from the client namespace into the lab's, held open: the
    SSH session a person fixes the firewall through."""

    def __init__(self, lab: Lab, port: int, procs: list[subprocess.Popen[str]]) -> None:
        self.procs = procs  # the fixture's: killed even when this constructor fails
        server = self._start(lab.ns, SESSION_SERVER, str(port))
        assert server.get(timeout=20) == "listening"
        self.client = self._start(lab.client, SESSION_CLIENT, lab.address, str(port))
        self.client_proc = procs[-1]
        assert self.client.get(timeout=20) == "connected"
        peer = server.get(timeout=20).split()
        assert peer[0] == "peer", peer
        # sshd gives its session SSH_CONNECTION="CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT"
        self.ssh_connection = " ".join(peer[1:])

    def _start(self, ns: str, code: str, *args: str) -> queue.Queue[str]:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, *args],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.procs.append(proc)
        assert proc.stdout is not None
        return _lines(proc.stdout)

    def echoes(self, text: str) -> bool:
        """Bytes still go both ways over the held connection."""
        stdin = self.client_proc.stdin
        assert stdin is not None
        stdin.write(text + "\n")
        stdin.flush()
        return self.client.get(timeout=20) == f"echo {text}"


@pytest.fixture
def held_session() -> Iterator[Callable[[Lab, int], HeldSession]]:
    procs: list[subprocess.Popen[str]] = []
    try:
        yield lambda lab, port: HeldSession(lab, port, procs)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)


def test_a_plan_that_would_cut_the_live_session_is_refused(
        make_lab: Callable[..., Lab], held_session: Callable[[Lab, int], HeldSession]) -> None:
    """ssh_guard knows the session's port from SSH_CONNECTION only (else it protects the
    ports sshd listens on): the driver gets it as sshd would set it for this very live
    connection. No real back-end emits a command that closes a port, so the refusal is
    shown with one DROP appended to the iptables back-end's change, before the plan's
    SSH guard (firewall._plan) sees it; the rest is the real planning path."""
    lab = _blocked_lab(make_lab, "iptables", veth=True)  # the session comes from outside
    session = held_session(lab, SSH_PORT)
    env = {**os.environ, "SSH_CONNECTION": session.ssh_connection}
    assert session.ssh_connection.endswith(f"10.77.0.1 {SSH_PORT}")
    assert session.echoes("before")
    # the planning path finds the session's port...
    timed = lab.plan("firewall.disable_temporarily", {"seconds": "60"}, env=env)
    assert f"Your SSH port {SSH_PORT} stays reachable throughout." in timed["notes"][0]
    own = lab.plan("firewall.allow_port", {"port": str(SSH_PORT)}, env=env)
    assert any(note.startswith("Careful: the undo") and f"port {SSH_PORT}" in note
               for note in own["notes"]), "undoing an accept for the session's port warns"
    # ...and refuses a plan that would drop it, before anything runs
    drop = ["iptables-nft", "-I", "INPUT", "-p", "tcp", "--dport", str(SSH_PORT), "-j", "DROP"]
    before = lab.ruleset()
    refused = lab.plan("firewall.allow_port", {"port": str(PORT)}, env=env, append=drop)
    assert refused == {"unavailable": f"refused: `{' '.join(drop)}` adds a DROP rule on port "
                                      f"{SSH_PORT}, which your SSH connection uses; it would "
                                      "cut you off"}
    assert lab.ruleset() == before
    assert session.echoes("after the refusal")
    # the same DROP for a port no session uses passes the guard: it is the live port
    other = [*drop[:-3], str(SSH_PORT + 1), "-j", "DROP"]
    assert other in lab.plan("firewall.allow_port", {"port": str(PORT)}, env=env,
                             append=other)["commands"]
    # the real plan, confirmed with the session open, lets nginx's port in and keeps it
    plan = lab.plan("firewall.allow_port", {"port": str(PORT)}, env=env)
    assert lab.apply(plan, env=env)["succeeded"]
    assert lab.connects()
    assert session.echoes("after the fix")


# ---------------------------------------------------------------- the TUI, f then y

NGINX_CONF = """daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "hello from the lab\\n"; }}
    }}
}}
"""


@pytest.fixture
def nginx_lab(make_lab: Callable[..., Lab], tmp_path: Path) -> Iterator[Lab]:
    """Debian's nginx in a fresh namespace on 127.0.0.1:PORT; stopped afterwards."""
    _require("iptables")
    require(shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists(),
            "needs Debian's nginx")
    folder = tmp_path / "nginx"
    folder.mkdir()
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=folder, port=PORT), encoding="utf-8")
    lab = make_lab(False, serve=False)
    lab.conf = str(conf)
    nginx = subprocess.Popen(["ip", "netns", "exec", lab.ns, "nginx", "-c", str(conf)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: nginx.poll() is not None or lab.connects(), 20, "nginx to listen")
        assert nginx.poll() is None, nginx.stderr.read() if nginx.stderr else "nginx stopped"
        yield lab
    finally:
        end_process(nginx, 10)


@pytest.fixture
def netns_pane(nginx_lab: Lab, tmp_path: Path) -> Iterator[Pane]:
    """A tmux server started inside the lab's namespace (so the wizard in its pane is
    too), driven from outside over its socket; killed before the namespace is removed."""
    require(shutil.which("tmux") is not None, "needs tmux")
    pane = Pane(f"wizfw-{uuid.uuid4().hex[:8]}", tmp_path / "exit-status")
    yield pane
    pane.tmux("kill-server")


def page(lab: Lab) -> str:
    return lab.run(sys.executable, "-c", GET, str(PORT)).stdout.strip()


def test_tui_f_then_y_lets_nginx_through(nginx_lab: Lab, netns_pane: Pane,
                                         tmp_path: Path) -> None:
    lab, pane = nginx_lab, netns_pane
    assert page(lab) == "200 hello from the lab"
    lab.run("iptables", "-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")
    assert page(lab) == "TimeoutError", "the firewall must drop nginx's port"
    command = [sys.executable, "-m", "wizard", "--nginx-conf", lab.conf, "--url",
               f"http://127.0.0.1:{PORT}/"]
    record = ["sh", "-c", '"$@"; echo "$?" > "$0"', str(pane.status_file)]
    lab.run("tmux", "-L", pane.socket, "-f", "/dev/null", "new-session", "-d", "-s", "wiz",
            "-x", "80", "-y", "24", "-c", str(REPO), "-e", f"XDG_STATE_HOME={tmp_path}",
            *record, *command)
    # no key pressed: once the checks ran, the answer names the firewall and its fix
    screen = pane.wait_for("Enter: walk through the checks", seconds=60)
    assert "1. A firewall blocks the traffic" in screen, screen
    words = " ".join(screen.replace("\u2502", " ").split())
    assert "Fix: Allow TCP port" in words and "- press f or 1" in words, screen

    pane.keys("f")  # two fixes are offered: allow the port, or the timed disable
    pane.wait_for("Which fix?")
    pane.keys("1")
    confirm = pane.wait_for("Run it? y = yes")
    assert f"$ iptables-nft -t filter -I INPUT 1 -p tcp --dport {PORT} -j ACCEPT" in confirm
    assert page(lab) == "TimeoutError", "nothing may run before the y"
    pane.keys("y")
    verdict = pane.wait_for("Escape goes back to the steps.", seconds=60)
    # the verdict's wording is the TUI's; that it is "fixed" is checked in the transcript
    assert "Not fixed" not in verdict and "fixed" in verdict.lower(), verdict

    rules = lab.run("iptables", "-S", "INPUT").stdout.splitlines()
    assert rules[1:] == [f"-A INPUT -p tcp -m tcp --dport {PORT} -j ACCEPT",
                         f"-A INPUT -p tcp -m tcp --dport {PORT} -j DROP"], rules
    assert page(lab) == "200 hello from the lab"
    pane.keys("Escape")
    after = pane.wait_for("after the fix, ", seconds=60)
    assert "A firewall blocks" not in after, after
    pane.keys("Enter")
    pane.wait_for("Enter Next")
    pane.keys("q")
    assert pane.wait_exit() == "0"
    saved = next((tmp_path / "nginx-502-wizard").glob("session-*.json")).read_text()
    fix = json.loads(saved)["transcript"]["fixes"][0]
    assert [c["role"] for c in fix["commands"]][:3] == ["precondition", "guard", "command"]
    assert fix["proof"] == "fixed" and f"http://127.0.0.1:{PORT}/ now answers 200" in \
        fix["after"], fix["after"]


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
def firewalld_lab(make_lab: Callable[..., Lab], tmp_path: Path) -> Iterator[Lab]:
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
        end_process(daemon, 30)
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
    applied = lab.apply(plan)
    assert applied["succeeded"] and ran(applied) == ["ran", "ran"]
    assert queried() and queried("--permanent")
    assert lab.connects()
    assert refused_as_changed(lab.apply(plan)), "the zone's listing changed: by this fix"
    again = lab.apply({**plan, "preconditions": []})
    assert again["succeeded"] and ran(again) == ["skipped", "skipped"]
    ports = lab.run("firewall-cmd", "--list-ports").stdout.split()
    assert ports.count(spec) == 1
    assert "unavailable" in lab.plan("firewall.allow_port", {"port": str(PORT)})
    lab.undo(plan)
    assert not queried() and not queried("--permanent")
    assert not lab.connects()


def test_firewalld_zone_changed_after_the_plan_is_refused(firewalld_lab: Lab) -> None:
    lab = firewalld_lab
    plan = lab.plan("firewall.allow_port", {"port": str(PORT)})
    lab.run("firewall-cmd", "--zone=public", "--add-port=9999/tcp")
    applied = lab.apply(plan)
    assert refused_as_changed(applied), applied
    assert lab.run("firewall-cmd", "--zone=public", f"--query-port={PORT}/tcp",
                   check=False).returncode != 0
    assert not lab.connects()


def test_firewalld_timed_open_removes_itself(firewalld_lab: Lab) -> None:
    lab = firewalld_lab
    assert not lab.connects()
    plan = lab.plan("firewall.disable_temporarily", {"seconds": "4"})
    assert all("--timeout=4s" in argv for argv in plan["commands"])
    started = time.monotonic()
    assert lab.apply(plan)["succeeded"]
    opened, probed_at = lab.connects(), time.monotonic() - started
    assert opened or probed_at > 4.0, "the zone must be open right after the plan ran"
    rule = plan["guards"][0][-1].removeprefix("--query-rich-rule=")
    wait_until(lambda: lab.run("firewall-cmd", f"--query-rich-rule={rule}",
                               check=False).returncode != 0, 20,
               "firewalld to remove the timed rule by itself")
    assert not lab.connects()
