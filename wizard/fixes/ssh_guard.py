"""Never cut the SSH session in use: which port it came in on, and whether a firewall
command would drop, deny, reject or remove the way in on that port.

The session's own port is the 4th field of SSH_CONNECTION ("client cport server sport").
Without it (sudo may drop the variable, tmux keeps an old one) every port sshd listens on
is protected: `sshd -T` (needs root), else the Port lines of sshd_config, else 22.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from wizard.fixes.base import FixNotApplicable
from wizard.fixes.helper_argv import helper_module
from wizard.host.commands import CommandResult, run

SSHD_CONFIG = "/etc/ssh/sshd_config"
DROPS = {"drop", "reject", "deny", "tcp-reset"}


def session_port(env: Mapping[str, str] | None = None) -> int | None:
    fields = (env if env is not None else os.environ).get("SSH_CONNECTION", "").split()
    if len(fields) == 4 and fields[3].isdigit():
        return int(fields[3])
    return None


def _ports_in(text: str) -> list[int]:
    found = [int(m.group(1)) for m in re.finditer(r"(?im)^\s*port\s+(\d+)\s*$", text)]
    return sorted(set(found))


def sshd_ports(reader: Callable[[list[str]], CommandResult] | None = None,
               config: str = SSHD_CONFIG) -> list[int]:
    result = (reader or (lambda argv: run(argv, timeout=5.0)))(["sshd", "-T"])
    if result.ok and _ports_in(result.stdout):
        return _ports_in(result.stdout)
    try:
        with open(config, encoding="utf-8", errors="replace") as fh:
            ports = _ports_in(fh.read(256 * 1024))
    except OSError:
        ports = []
    return ports or [22]


def protected_ports(env: Mapping[str, str] | None = None,
                    reader: Callable[[list[str]], CommandResult] | None = None,
                    config: str = SSHD_CONFIG) -> list[int]:
    port = session_port(env)
    return [port] if port is not None else sshd_ports(reader, config)


def _port_in(spec: str, port: int) -> bool:
    for part in re.split(r"[,\s]+", spec.strip("{} ")):
        low, _, high = part.replace("-", ":").partition(":")
        if low.isdigit() and (int(low) <= port <= int(high) if high.isdigit()
                              else int(low) == port):
            return True
    return False


def _ports_named(words: list[str], *options: str) -> list[str]:
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w in options]


def _iptables(words: list[str], port: int) -> str | None:
    if "-P" in words and words[-1].upper() in ("DROP", "REJECT"):
        return "sets a DROP policy"
    target = (_ports_named(words, "-j", "--jump") or [""])[0].lower()
    specs = _ports_named(words, "--dport", "--dports", "--destination-port")
    hits = not specs or any(_port_in(s, port) for s in specs)
    udp_only = "udp" in _ports_named(words, "-p", "--protocol")
    if not hits or udp_only:
        return None
    if target in DROPS and any(w in words for w in ("-A", "-I", "-R", "--append", "--insert")):
        return f"adds a {target.upper()} rule"
    if target == "accept" and any(w in words for w in ("-D", "--delete")) and specs:
        return "removes a rule that lets it in"
    return None


def _nft(words: list[str], port: int) -> str | None:
    verdict = next((w for w in words if w in DROPS), None)
    specs = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "dport"]
    hits = not specs or any(_port_in(s, port) for s in specs)
    if verdict and hits and ("add" in words or "insert" in words) and "rule" in words:
        return f"adds a rule that ends in {verdict}"
    if "delete" in words and "accept" in " ".join(words) and specs and hits:
        return "removes a rule that lets it in"
    return None


def _ufw(words: list[str], port: int) -> str | None:
    rest = words[words.index("ufw") + 1:] if "ufw" in words else words
    rest = [w for w in rest if not w.startswith("--")]
    specs = [w for w in rest if re.match(r"^[\d,:]+(/tcp)?$", w)] + _ports_named(rest, "port")
    hits = not specs or any(_port_in(s.split("/")[0], port) for s in specs)
    if not hits or not rest:
        return None
    if any(w in ("deny", "reject") for w in rest) and rest[0] != "default":
        return "adds a deny rule"
    if rest[0] == "delete" and "allow" in rest and specs:
        return "removes a rule that lets it in"
    return None


def _firewall_cmd(words: list[str], port: int) -> str | None:
    for w in words:
        if w == "--panic-on":
            return "drops all traffic (panic mode)"
        if w.startswith("--remove-port=") and _port_in(w.split("=", 1)[1].split("/")[0], port):
            return "removes the port from the zone"
        if w == "--remove-service=ssh":
            return "removes the ssh service from the zone"
        if w.startswith("--add-rich-rule=") and re.search(r"\b(drop|reject)\b", w):
            m = re.search(r'port="([\d-]+)"', w)
            if not m or _port_in(m.group(1), port):
                return "adds a rich rule that drops it"
    return None


def cuts(argv: list[str], port: int) -> str | None:
    """Why `argv` would close `port` to new or current connections; None when it would not."""
    words = [w for w in argv if w]
    tool = os.path.basename(words[0]) if words else ""
    if tool.startswith(("iptables", "ip6tables")):
        return _iptables(words, port)
    if tool == "nft" or helper_module(words) == "firewall_nftables":
        return _nft(words, port)
    if tool == "ufw":
        return _ufw(words, port)
    if tool == "firewall-cmd":
        return _firewall_cmd(words, port)
    return None


def refuse_if_cut(commands: list[list[str]], ports: list[int]) -> None:
    """Raise FixNotApplicable (plain words) when a command would close an SSH port."""
    for argv in commands:
        for port in ports:
            why = cuts(argv, port)
            if why:
                raise FixNotApplicable(
                    f"refused: `{' '.join(argv)}` {why} on port {port}, which your SSH "
                    f"connection uses; it would cut you off")


def undo_warnings(undo: list[list[str]], ports: list[int]) -> list[str]:
    return [f"Careful: the undo `{' '.join(argv)}` {why} on port {port}, which your SSH "
            f"connection uses." for argv in undo for port in ports
            if (why := cuts(argv, port))]
