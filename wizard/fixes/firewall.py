"""Firewall fixes: let TCP traffic reach a port through the active firewall."""

from __future__ import annotations

from wizard.fixes.base import FixNotApplicable, FixPlan, fix_action, fix_id
from wizard.host.facts import Facts


def allow_port_argv(backend: str, port: int) -> tuple[list[list[str]], list[list[str]]]:
    """(commands, undo) that accept new TCP connections to `port`."""
    p = str(port)
    if backend == "ufw":
        return [["ufw", "allow", f"{p}/tcp"]], [["ufw", "delete", "allow", f"{p}/tcp"]]
    if backend == "firewalld":
        add = f"--add-port={p}/tcp"
        return ([["firewall-cmd", add], ["firewall-cmd", "--permanent", add]],
                [["firewall-cmd", f"--remove-port={p}/tcp"],
                 ["firewall-cmd", "--permanent", f"--remove-port={p}/tcp"]])
    if backend == "iptables":
        accept = ["INPUT", "-p", "tcp", "--dport", p, "-j", "ACCEPT"]
        return [["iptables", "-I", *accept]], [["iptables", "-D", *accept]]
    if backend == "nftables":
        nft_accept = ["tcp", "dport", p, "accept"]
        return [["nft", "insert", "rule", "inet", "filter", "input", *nft_accept]], []
    raise FixNotApplicable("no active firewall was found, so there is nothing to open")


@fix_action("firewall.allow_port", params=("port",))
def allow_port(args: dict[str, str], facts: Facts) -> FixPlan:
    """Allow incoming TCP connections to a port."""
    try:
        port = int(args.get("port", ""))
    except ValueError:
        raise FixNotApplicable(f"not a port number: {args.get('port')!r}") from None
    backend = (facts.try_get("firewall") or {}).get("backend", "none")
    commands, undo = allow_port_argv(backend, port)
    return FixPlan(
        id=fix_id("firewall.allow_port", args),
        title=f"Allow TCP port {port} through {backend}",
        commands=commands, needs_root=True, undo=undo,
        verify=f"a connection to port {port} is no longer dropped",
    )
