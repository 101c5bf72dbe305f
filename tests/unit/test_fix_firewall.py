"""Firewall fix plans from the `firewall` fact: exact argv per firewall, the guard that
makes a second run skip, the undo, the SSH guard, and the timed disable's commands.

Plan-time listings (`iptables -S CHAIN`, `nft -a -s list chain`, `ufw status verbose`,
`firewall-cmd --list-all`) come from a recorded reader here (tests/data/firewall/
record_listings.sh recorded them, and again after somebody else changed the rules);
tests/lab/test_fix_firewall_netns.py runs the same plans for real in a namespace.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wizard.compat import zip_strict
from wizard.fixes import firewall, load_all
from wizard.fixes.apply import apply_fix
from wizard.fixes.base import FixNotApplicable, FixPlan, Precondition, listing_digest
from wizard.fixes.firewall import plan_allow_port, plan_disable_temporarily
from wizard.fixes.firewall_backend import _main as guard_main
from wizard.fixes.firewall_nftables import handles
from wizard.fixes.privilege import Access, RootAccess
from wizard.fixes.ssh_guard import cuts, protected_ports, refuse_if_cut, session_port, sshd_ports
from wizard.host.commands import CommandResult
from wizard.host.facts import Facts

PY = sys.executable
DATA = Path(__file__).resolve().parent.parent / "data" / "firewall"
NFT_CHAIN = """table inet wizlab {
\tchain input { # handle 1
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established accept # handle 2
\t\ttcp dport 8080 drop # handle 5
\t}
}
"""
IPT_INPUT = """-P INPUT ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j DROP
"""


def reader(outputs: dict[tuple[str, ...], str]) -> Callable[[list[str]], CommandResult]:
    def read(argv: list[str]) -> CommandResult:
        if tuple(argv) in outputs:
            return CommandResult(argv, 0, outputs[tuple(argv)])
        return CommandResult(argv, 1, "", "Operation not permitted")
    return read


def entry(backend: str, rule: str, table: str, chain: str, line: int | None,
          port: int = 8080, **extra: Any) -> dict[str, Any]:
    return {"port": port, "path": "incoming", "role": "nginx listen", "backend": backend,
            "rule": rule, "table": table, "chain": chain, "line": line, "verdict": "blocked",
            "condition": None, **extra}


def fact(backend: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"backend": backend, "blocked_ports": list(entries), "partial_ports": []}


def test_iptables_inserts_before_the_drop_at_its_current_line() -> None:
    drop = entry("iptables", "-A INPUT -p tcp -m tcp --dport 8080 -j DROP", "filter", "INPUT",
                 2, variant="nft")  # the fact's line is stale: the rule is 3rd now
    plan = plan_allow_port({"port": "8080"}, fact("iptables", drop),
                           reader({("iptables-nft", "-t", "filter", "-S", "INPUT"): IPT_INPUT}),
                           ssh_ports=[22])
    spec = ["-p", "tcp", "--dport", "8080", "-j", "ACCEPT"]
    assert plan.commands == [["iptables-nft", "-t", "filter", "-I", "INPUT", "3", *spec]]
    assert plan.guards == [["iptables-nft", "-t", "filter", "-C", "INPUT", *spec]]
    assert plan.undo == [["iptables-nft", "-t", "filter", "-D", "INPUT", *spec]]
    assert plan.needs_root and plan.id == "firewall.allow_port:8080"


def test_iptables_drop_in_a_user_chain_gets_the_accept_there() -> None:
    drop = entry("iptables", "-A WEB -p tcp -m tcp --dport 8080 -j DROP", "filter", "WEB", 1,
                 variant="legacy")
    plan = plan_allow_port({"port": "8080"}, fact("iptables", drop), reader({}), ssh_ports=[22])
    # the listing could not be read (no root): the fact's line is used
    assert plan.commands[0][:6] == ["iptables-legacy", "-t", "filter", "-I", "WEB", "1"]


def test_iptables_policy_drop_inserts_at_the_top() -> None:
    drop = entry("iptables", "-P INPUT DROP", "filter", "INPUT", None, variant="nft")
    plan = plan_allow_port({"port": "8080"}, fact("iptables", drop), reader({}), ssh_ports=[22])
    assert plan.commands == [["iptables-nft", "-t", "filter", "-I", "INPUT", "-p", "tcp",
                              "--dport", "8080", "-j", "ACCEPT"]]


def test_nft_accept_goes_into_the_chain_that_drops_before_its_handle() -> None:
    drop = entry("nftables", "tcp dport 8080 drop", "inet wizlab", "input", 5)
    read = reader({("nft", "-a", "-s", "list", "chain", "inet", "wizlab", "input"): NFT_CHAIN})
    plan = plan_allow_port({"port": "8080"}, fact("nftables", drop), read, ssh_ports=[22])
    assert plan.commands == [["nft", "insert", "rule", "inet", "wizlab", "input", "position",
                              "5", "tcp", "dport", "8080", "accept"]]
    assert plan.guards == [[PY, "-I", "-m", "wizard.fixes.firewall_backend", "has-line",
                            "tcp dport 8080 accept", "--", "nft", "list", "chain", "inet",
                            "wizlab", "input"]]
    assert plan.undo == [[PY, "-I", "-m", "wizard.fixes.firewall_nftables", "delete", "inet",
                          "wizlab", "input", "tcp dport 8080 accept"]]


def test_nft_handle_is_found_again_when_the_fact_is_stale() -> None:
    drop = entry("nftables", "tcp dport 8080 drop", "inet wizlab", "input", 9)
    read = reader({("nft", "-a", "-s", "list", "chain", "inet", "wizlab", "input"): NFT_CHAIN})
    plan = plan_allow_port({"port": "8080"}, fact("nftables", drop), read, ssh_ports=[22])
    assert plan.commands[0][6:8] == ["position", "5"]
    assert handles(NFT_CHAIN) == {2: "ct state established accept", 5: "tcp dport 8080 drop"}


def test_nft_without_a_known_chain_is_refused_plainly() -> None:
    with pytest.raises(FixNotApplicable, match="no nftables chain"):
        plan_allow_port({"port": "8080"}, fact("nftables"), reader({}), ssh_ports=[22])


def test_drop_in_nft_while_iptables_is_the_backend_is_fixed_in_nft() -> None:
    drop = entry("nftables", "policy drop", "inet filter", "input", None)
    plan = plan_allow_port({"port": "8080"}, fact("iptables", drop), reader({}), ssh_ports=[22])
    assert plan.commands == [["nft", "insert", "rule", "inet", "filter", "input", "tcp",
                              "dport", "8080", "accept"]]


def test_ufw_allow_insert_or_replace() -> None:
    status_guard = [PY, "-I", "-m", "wizard.fixes.firewall_backend", "has-line",
                    "8080/tcp ALLOW Anywhere", "--", "ufw", "status"]
    policy = entry("ufw", "Default: deny (incoming)", "filter", "ufw default policy", None)
    plan = plan_allow_port({"port": "8080"}, fact("ufw", policy), reader({}), ssh_ports=[22])
    assert plan.commands == [["ufw", "allow", "8080/tcp"]]
    assert plan.guards == [status_guard]
    assert plan.undo == [["ufw", "delete", "allow", "8080/tcp"]]
    other = entry("ufw", "8080  DENY IN  Anywhere", "filter", "ufw-user-input", None)
    plan = plan_allow_port({"port": "8080"}, fact("ufw", other), reader({}), ssh_ports=[22])
    assert plan.commands == [["ufw", "insert", "1", "allow", "8080/tcp"]]
    same = entry("ufw", "8080/tcp  DENY IN  Anywhere", "filter", "ufw-user-input", None)
    plan = plan_allow_port({"port": "8080"}, fact("ufw", same), reader({}), ssh_ports=[22])
    assert plan.commands == [["ufw", "allow", "8080/tcp"]]
    assert plan.undo == [["ufw", "deny", "8080/tcp"]]  # ufw updated the rule in place


def test_firewalld_runtime_and_permanent_with_query_guards() -> None:
    zone = entry("firewalld", "zone public: target: default", "inet firewalld", "zone public",
                 None)
    plan = plan_allow_port({"port": "8080"}, fact("firewalld", zone), reader({}),
                           ssh_ports=[22])
    assert plan.commands == [["firewall-cmd", "--zone=public", "--add-port=8080/tcp"],
                             ["firewall-cmd", "--permanent", "--zone=public",
                              "--add-port=8080/tcp"]]
    assert plan.guards == [["firewall-cmd", "--zone=public", "--query-port=8080/tcp"],
                           ["firewall-cmd", "--permanent", "--zone=public",
                            "--query-port=8080/tcp"]]
    assert plan.undo == [["firewall-cmd", "--zone=public", "--remove-port=8080/tcp"],
                         ["firewall-cmd", "--permanent", "--zone=public",
                          "--remove-port=8080/tcp"]]


def test_firewalld_rich_reject_is_removed_and_restored_by_undo() -> None:
    rich = 'rule family="ipv4" port port="8080" protocol="tcp" reject'
    plan = plan_allow_port({"port": "8080"},
                           fact("firewalld", entry("firewalld", rich, "inet firewalld",
                                                   "zone public", None)),
                           reader({}), ssh_ports=[22])
    assert ["firewall-cmd", "--zone=public", f"--remove-rich-rule={rich}"] in plan.commands
    assert ["firewall-cmd", "--permanent", "--zone=public", f"--add-rich-rule={rich}"] in \
        plan.undo


def test_no_firewall_and_bad_ports_are_plain_reasons(recorded: Callable[..., Facts]) -> None:
    action = load_all()["firewall.allow_port"]
    with pytest.raises(FixNotApplicable, match="no active firewall"):
        action.plan({"port": "80"}, recorded({"firewall": fact("none")}))
    for bad in ("{port}", "http", "0", "70000"):
        with pytest.raises(FixNotApplicable, match="not a port"):
            action.plan({"port": bad}, recorded({"firewall": fact("ufw")}))
    with pytest.raises(FixNotApplicable, match="could not be read"):
        action.plan({"port": "80"}, recorded({}, {"firewall": "needs root"}))


# ---------------------------------------------------------------- never cut SSH

def test_ssh_port_from_ssh_connection_then_sshd(tmp_path: Any) -> None:
    assert session_port({"SSH_CONNECTION": "10.0.0.9 51234 10.0.0.1 2222"}) == 2222
    assert session_port({}) is None
    sshd_t = "port 2200\nport 2201\naddressfamily any\n"
    assert sshd_ports(reader({("sshd", "-T"): sshd_t})) == [2200, 2201]
    config = tmp_path / "sshd_config"
    config.write_text("#Port 22\nPort 2022\n", encoding="utf-8")
    assert sshd_ports(reader({}), str(config)) == [2022]
    assert sshd_ports(reader({}), str(tmp_path / "missing")) == [22]
    assert protected_ports({"SSH_CONNECTION": "::1 5 ::1 2323"}, reader({})) == [2323]


@pytest.mark.parametrize("argv", [
    ["iptables", "-I", "INPUT", "-p", "tcp", "--dport", "2222", "-j", "DROP"],
    ["iptables", "-A", "INPUT", "-j", "REJECT", "--reject-with", "tcp-reset"],
    ["iptables", "-P", "INPUT", "DROP"],
    ["iptables", "-D", "INPUT", "-p", "tcp", "--dport", "2222", "-j", "ACCEPT"],
    ["nft", "add", "rule", "inet", "t", "input", "tcp", "dport", "2222", "drop"],
    ["nft", "insert", "rule", "inet", "t", "input", "tcp", "dport", "{ 80, 2222 }", "reject"],
    ["ufw", "deny", "2222/tcp"],
    ["ufw", "delete", "allow", "2222/tcp"],
    ["firewall-cmd", "--remove-port=2222/tcp"],
    ["firewall-cmd", "--panic-on"],
])
def test_commands_that_would_cut_the_ssh_port_are_refused(argv: list[str]) -> None:
    port = session_port({"SSH_CONNECTION": "10.0.0.9 51234 10.0.0.1 2222"})
    assert port == 2222
    assert cuts(argv, port)
    with pytest.raises(FixNotApplicable, match="SSH connection uses"):
        refuse_if_cut([argv], [port])


@pytest.mark.parametrize("argv", [
    ["iptables", "-I", "INPUT", "-p", "tcp", "--dport", "8080", "-j", "DROP"],
    ["iptables", "-I", "INPUT", "-p", "tcp", "--dport", "2222", "-j", "ACCEPT"],
    ["nft", "insert", "rule", "inet", "t", "input", "tcp", "dport", "2222", "accept"],
    ["ufw", "allow", "2222/tcp"], ["ufw", "deny", "8080/tcp"],
    ["firewall-cmd", "--add-port=2222/tcp"],
])
def test_commands_that_leave_the_ssh_port_alone_pass(argv: list[str]) -> None:
    assert cuts(argv, 2222) is None


def test_allowing_the_ssh_port_warns_that_its_undo_would_close_it() -> None:
    drop = entry("iptables", "-P INPUT DROP", "filter", "INPUT", None, port=2222)
    plan = plan_allow_port({"port": "2222"}, fact("iptables", drop), reader({}),
                           ssh_ports=[2222])
    assert any("undo" in n and "2222" in n for n in plan.notes)


# ---------------------------------------------------------------- timed disable

def _timer(argv: list[str]) -> tuple[str, list[str]]:
    assert argv[:5] == [PY, "-I", "-m", "wizard.fixes.timed_disable", "after"]
    return argv[5], argv[argv.index("--") + 1:]


def test_timed_disable_ufw_schedules_reenable_before_disabling() -> None:
    plan = plan_disable_temporarily({"seconds": "90"}, fact("ufw"), reader({}),
                                    ssh_ports=[22])
    assert plan.commands[0] == ["mkdir", "-p", "-m", "700", "/run/nginx-502-wizard"]
    assert _timer(plan.commands[1]) == ("90", ["ufw", "--force", "enable"])
    assert plan.commands[2] == ["ufw", "disable"]
    assert plan.undo == [["ufw", "--force", "enable"]]
    assert plan.id == "firewall.disable_temporarily:90"
    assert "22 stays reachable" in plan.notes[0]


def test_timed_disable_iptables_saves_opens_and_restores() -> None:
    drop = entry("iptables", "-P INPUT DROP", "filter", "INPUT", None, variant="nft")
    plan = plan_disable_temporarily({"seconds": "120"}, fact("iptables", drop), reader({}),
                                    ssh_ports=[22])
    save = plan.commands[1]
    assert save[:4] == ["iptables-nft-save", "-t", "filter", "-f"]
    saved = save[4]
    assert _timer(plan.commands[2]) == ("120", ["iptables-nft-restore", saved])
    assert plan.commands[3:] == [["iptables-nft", "-P", "INPUT", "ACCEPT"],
                                 ["iptables-nft", "-P", "FORWARD", "ACCEPT"],
                                 ["iptables-nft", "-P", "OUTPUT", "ACCEPT"],
                                 ["iptables-nft", "-F"]]
    assert plan.undo == [["iptables-nft-restore", saved]]


def test_timed_disable_nft_and_firewalld() -> None:
    plan = plan_disable_temporarily({"seconds": "5"}, fact("nftables"), reader({}), ssh_ports=[22])
    saved = plan.commands[1][-5]
    assert plan.commands[1] == [PY, "-I", "-m", "wizard.fixes.timed_disable", "save", "--prepend",
                                "flush ruleset", saved, "--", "nft", "list", "ruleset"]
    assert _timer(plan.commands[2]) == ("5", ["nft", "-f", saved])
    assert plan.commands[3] == ["nft", "flush", "ruleset"]
    fwd = plan_disable_temporarily({"seconds": "60"}, fact("firewalld"), reader({}),
                                   ssh_ports=[22])
    assert fwd.commands == [
        ["firewall-cmd", '--add-rich-rule=rule family="ipv4" source address="0.0.0.0/0" accept',
         "--timeout=60s"],
        ["firewall-cmd", '--add-rich-rule=rule family="ipv6" source address="::/0" accept',
         "--timeout=60s"]]


def test_timed_disable_default_and_limits(recorded: Callable[..., Facts],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(firewall, "read_live", reader({}))  # not this machine's ufw
    action = load_all()["firewall.disable_temporarily"]
    plan = action.plan({"seconds": ""}, recorded({"firewall": fact("ufw")}))
    assert _timer(plan.commands[1])[0] == "120"
    for bad in ("-5", "0", "99999", "soon"):
        with pytest.raises(FixNotApplicable, match="seconds"):
            action.plan({"seconds": bad}, recorded({"firewall": fact("ufw")}))


# ---------------------------------------------------------------- the guard helper

def test_has_line_guard_helper() -> None:
    argv = [PY, "-c", "print('18080/tcp     ALLOW       Anywhere   ')"]
    assert guard_main(["has-line", "18080/tcp ALLOW Anywhere", "--", *argv]) == 0
    assert guard_main(["has-line", "18081/tcp ALLOW Anywhere", "--", *argv]) == 1
    assert guard_main(["has-line", "x", "--", PY, "-c", "raise SystemExit(3)"]) == 2
    assert guard_main(["fails", "--", PY, "-c", "raise SystemExit(1)"]) == 0
    assert guard_main(["fails", "--", PY, "-c", "pass"]) == 1


def test_port_the_fact_finds_open_needs_nothing() -> None:
    open_entry = {**entry("iptables", "-P INPUT ACCEPT", "filter", "INPUT", None),
                  "verdict": "allowed"}
    with pytest.raises(FixNotApplicable, match="already lets TCP port 8080 in"):
        plan_allow_port({"port": "8080"}, {"backend": "iptables", "blocked_ports": [],
                                           "partial_ports": [], "allowed_ports": [open_entry]},
                        reader({}), ssh_ports=[22])


# ---------------------------------------------------------------- pinned to what was read

def recording(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


IPT_DROP = entry("iptables", "-A INPUT -p tcp -m tcp --dport 8080 -j DROP", "filter", "INPUT",
                 3, variant="nft")
NFT_DROP = entry("nftables", "tcp dport 8080 counter drop", "inet wizlab", "input", 4)
UFW_DENY = entry("ufw", "8080/tcp  DENY IN  Anywhere", "filter", "ufw-user-input", None)
FWD_RICH = entry("firewalld", 'rule family="ipv4" port port="8080" protocol="tcp" reject',
                 "inet firewalld", "zone public", None)
IPT_INPUT_S = ("iptables-nft", "-t", "filter", "-S", "INPUT")
NFT_CHAIN_S = ("nft", "-a", "-s", "list", "chain", "inet", "wizlab", "input")
UFW_STATUS = ("ufw", "status", "verbose")
FWD_LIST = ("firewall-cmd", "--zone=public", "--list-all")
# (firewall fact, the listing the plan reads, its recording, what the plan calls it)
ALLOW_CASES = {
    "iptables": (fact("iptables", IPT_DROP), IPT_INPUT_S, "listing_iptables-S-INPUT.txt",
                 "the INPUT chain of iptables-nft's filter table"),
    "nftables": (fact("nftables", NFT_DROP), NFT_CHAIN_S, "listing_nft-a-s-chain.txt",
                 "nftables chain inet wizlab input"),
    "ufw": (fact("ufw", UFW_DENY), UFW_STATUS, "listing_ufw-status-verbose.txt",
            "the ufw rules"),
    "firewalld": (fact("firewalld", FWD_RICH), FWD_LIST, "listing_firewalld-list-all.txt",
                  "firewalld's public zone"),
}
TIMED_CASES = {
    "iptables": (fact("iptables", IPT_DROP), ("iptables-nft", "-t", "filter", "-S"),
                 "listing_iptables-S-filter.txt", "iptables-nft's filter table"),
    "nftables": (fact("nftables", NFT_DROP), ("nft", "-s", "list", "ruleset"),
                 "listing_nft-s-ruleset.txt", "the nftables rule set"),
    "ufw": ALLOW_CASES["ufw"],
    "firewalld": ALLOW_CASES["firewalld"],
}


def counting(outputs: dict[tuple[str, ...], str]) -> tuple[Callable[[list[str]], CommandResult],
                                                          list[tuple[str, ...]]]:
    """A recorded reader that also keeps every argv it was asked to read."""
    asked: list[tuple[str, ...]] = []
    read = reader(outputs)

    def counted(argv: list[str]) -> CommandResult:
        asked.append(tuple(argv))
        return read(argv)

    return counted, asked


def plan_for(action: str, name: str, read: Callable[[list[str]], CommandResult]) -> FixPlan:
    if action == "allow":
        return plan_allow_port({"port": "8080"}, ALLOW_CASES[name][0], read, ssh_ports=[22])
    return plan_disable_temporarily({"seconds": "60"}, TIMED_CASES[name][0], read,
                                    ssh_ports=[22])


@pytest.mark.parametrize("action", ["allow", "timed"])
@pytest.mark.parametrize("name", ["iptables", "nftables", "ufw", "firewalld"])
def test_every_plan_is_pinned_to_the_listing_it_read_once(action: str, name: str) -> None:
    """The listing the back-end read to make the plan (and no second read of it) becomes
    the plan's precondition: its argv and the digest of that very output."""
    _, argv, file, what = (ALLOW_CASES if action == "allow" else TIMED_CASES)[name]
    read, asked = counting({argv: recording(file)})
    plan = plan_for(action, name, read)
    assert asked == [argv], "the listing is read once, for the plan and its precondition"
    assert plan.preconditions == [Precondition(list(argv), listing_digest(recording(file)),
                                               what)]
    assert plan.to_json()["preconditions"] == [
        {"argv": list(argv), "sha256": listing_digest(recording(file)), "what": what}]


def test_the_read_that_places_the_rule_is_the_one_pinned() -> None:
    """Reused, not read again: the handle (4) and the line (3) come from the same listing
    whose digest the plan carries."""
    read, asked = counting({NFT_CHAIN_S: recording("listing_nft-a-s-chain.txt")})
    plan = plan_allow_port({"port": "8080"}, fact("nftables", {**NFT_DROP, "line": 9}), read,
                           ssh_ports=[22])
    assert plan.commands[0][6:8] == ["position", "4"] and asked == [NFT_CHAIN_S]
    read, asked = counting({IPT_INPUT_S: recording("listing_iptables-S-INPUT.txt")})
    two = [IPT_DROP, {**IPT_DROP, "rule": "-A INPUT -p tcp -m tcp --dport 8080 -j REJECT"}]
    plan = plan_allow_port({"port": "8080"}, fact("iptables", *two), read, ssh_ports=[22])
    assert plan.commands[0][3:6] == ["-I", "INPUT", "3"]
    assert asked == [IPT_INPUT_S] and len(plan.preconditions) == 1


def test_nft_listing_is_read_without_counters() -> None:
    """With counters, the drop's text is not the fact's (which is read with -s), so the
    accept would land at the top of the chain; and every packet would change the digest,
    so apply would refuse a plan on any busy host."""
    counters = recording("listing_nft-a-chain_counters.txt")
    assert handles(counters)[4] == "tcp dport 8080 counter packets 1 bytes 60 drop"
    assert handles(recording("listing_nft-a-s-chain.txt"))[4] == NFT_DROP["rule"]
    assert listing_digest(counters) != listing_digest(
        counters.replace("packets 1 bytes 60", "packets 2 bytes 120"))


def test_unreadable_listing_leaves_no_precondition_and_says_so() -> None:
    plan = plan_allow_port({"port": "8080"}, fact("iptables", IPT_DROP), reader({}),
                           ssh_ports=[22])
    assert plan.preconditions == []
    assert any(n.startswith("The INPUT chain of iptables-nft's filter table could not be "
                            "read now (Operation not permitted)") for n in plan.notes)


class RecordedRoot(RootAccess):
    """Root for apply_fix on recorded outputs: `outputs` answers by argv (a listing, or a
    guard's "no"), anything else succeeds. Nothing runs on this machine; `ran` keeps all
    that apply asked for, in order."""

    def __init__(self, outputs: dict[tuple[str, ...], CommandResult]) -> None:
        super().__init__(Access("direct"))
        self.outputs = outputs
        self.ran: list[list[str]] = []

    def run(self, argv: list[str], on_output: Callable[[str], None],
            timeout: float) -> CommandResult:
        self.ran.append(list(argv))
        return self.outputs.get(tuple(argv), CommandResult(list(argv), 0))


def _apply(plan: FixPlan, listing: CommandResult, recorded: Callable[..., Facts]
           ) -> tuple[Any, RecordedRoot]:
    guards = {tuple(g): CommandResult(list(g), 1) for g in plan.guards if g}  # "not there"
    root = RecordedRoot({tuple(plan.preconditions[0].argv): listing, **guards})
    lines: list[str] = []
    return apply_fix(plan.to_json(), recorded({}), lines.append, root=root), root


@pytest.mark.parametrize("name", ["iptables", "nftables", "ufw", "firewalld"])
def test_apply_refuses_when_somebody_changed_the_rules(
        name: str, recorded: Callable[..., Facts]) -> None:
    """Recorded for real: the listing at plan time, then after somebody added a rule. The
    plan is refused with nothing run; the unchanged listing lets it run."""
    _, argv, file, what = ALLOW_CASES[name]
    plan = plan_for("allow", name, reader({argv: recording(file)}))
    changed = CommandResult(list(argv), 0, recording(file.replace(".txt", "_changed.txt")))
    applied, root = _apply(plan, changed, recorded)
    assert not applied.succeeded
    assert applied.after == (f"not applied: {what} changed since the plan was made, so "
                             "nothing was run; look at the fix again to see the current plan")
    assert root.ran == [list(argv)], "nothing but the listing may run"
    assert [r["role"] for r in applied.commands] == ["precondition"]
    same = CommandResult(list(argv), 0, recording(file))
    applied, root = _apply(plan, same, recorded)
    assert applied.succeeded
    assert root.ran[0] == list(argv) and plan.commands[0] in root.ran


def test_a_warning_on_stderr_is_not_a_change(recorded: Callable[..., Facts]) -> None:
    """Plan time reads stdout and stderr apart; apply's stream() gets them as one text,
    the warning first. iptables-nft's "# Warning: iptables-legacy tables present" (on
    stderr, recorded) must not make an unchanged chain look changed."""
    warning = recording("listing_iptables-S-INPUT_legacy-warning.stderr")
    listing = recording("listing_iptables-S-INPUT.txt")

    def read(argv: list[str]) -> CommandResult:
        return CommandResult(argv, 0, listing, warning)

    plan = plan_allow_port({"port": "8080"}, fact("iptables", IPT_DROP), read, ssh_ports=[22])
    applied, _ = _apply(plan, CommandResult(list(IPT_INPUT_S), 0, warning + listing), recorded)
    assert applied.succeeded, applied.after


def test_a_listing_that_cannot_be_read_again_is_refused(recorded: Callable[..., Facts]) -> None:
    _, argv, file, what = ALLOW_CASES["ufw"]
    plan = plan_for("allow", "ufw", reader({argv: recording(file)}))
    gone = CommandResult(list(argv), None, error="ufw is not installed")
    applied, root = _apply(plan, gone, recorded)
    assert applied.after == f"not applied: could not read {what} again (ufw is not installed)"
    assert root.ran == [list(argv)]


def test_every_firewall_guard_says_in_words_what_it_asks() -> None:
    drops = {
        "iptables": entry("iptables", "-P INPUT DROP", "filter", "INPUT", None, variant="nft"),
        "ufw": entry("ufw", "Default: deny (incoming)", "filter", "ufw default policy", None),
        "firewalld": entry("firewalld", "zone public: target: default", "inet firewalld",
                           "zone public", None),
    }
    for name, drop in drops.items():
        plan = plan_allow_port({"port": "8080"}, fact(name, drop), reader({}), ssh_ports=[22])
        asked = [(guard is not None, bool(ask))
                 for guard, ask in zip_strict(plan.guards, plan.asks)]
        assert asked and all(has == said for has, said in asked), (name, plan.asks)
        assert all(ask.endswith("?") for ask in plan.asks if ask), plan.asks
