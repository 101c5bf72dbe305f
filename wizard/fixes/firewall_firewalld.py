"""firewalld: the port goes into the zone at runtime and --permanent (guarded by
`--query-port`); a rich rule that rejects the port is taken out, since firewalld checks
deny rich rules before ports. The timed disable uses firewalld's own `--timeout`. Both are
pinned to the zone's runtime `--list-all`, the listing the `firewall` fact judged."""

from __future__ import annotations

from wizard.fixes.firewall_backend import Change, Entry, FirewallBackend, fails_guard

_OPEN_ALL = ('rule family="ipv4" source address="0.0.0.0/0" accept',
             'rule family="ipv6" source address="::/0" accept')


def _zone(entries: list[Entry]) -> list[str]:
    chains = [e.get("chain") or "" for e in entries if (e.get("chain") or "").startswith("zone ")]
    return [f"--zone={chains[0].removeprefix('zone ')}"] if chains else []


def _zone_name(zone: list[str]) -> str:
    return f"firewalld's {zone[0].removeprefix('--zone=')} zone" if zone else \
        "firewalld's default zone"


class Firewalld(FirewallBackend):
    name = "firewalld"

    def allow_port(self, port: int, entries: list[Entry]) -> Change:
        zone, spec = _zone(entries), f"{port}/tcp"
        change = Change()
        self.read_listing(change, ["firewall-cmd", *zone, "--list-all"], _zone_name(zone))
        for permanent in ([], ["--permanent"]):
            base = ["firewall-cmd", *permanent, *zone]
            change.add([*base, f"--add-port={spec}"], [*base, f"--query-port={spec}"],
                       f"Is {spec} already open in firewalld"
                       f"{' (permanently)' if permanent else ''}?")
            change.undo.append([*base, f"--remove-port={spec}"])
        for rich in sorted({e["rule"] for e in entries
                            if (e.get("rule") or "").startswith("rule ")}):
            for permanent in ([], ["--permanent"]):
                base = ["firewall-cmd", *permanent, *zone]
                change.add([*base, f"--remove-rich-rule={rich}"],
                           fails_guard([*base, f"--query-rich-rule={rich}"]),
                           "Is the blocking rich rule already gone"
                           f"{' (permanently)' if permanent else ''}?")
                change.undo.insert(0, [*base, f"--add-rich-rule={rich}"])
            change.notes.append(f"The rich rule `{rich}` is removed: firewalld applies it "
                                f"before the zone's ports.")
        return change

    def timed_disable(self, seconds: int, entries: list[Entry]) -> Change:
        zone = _zone(entries)
        change = Change()
        self.read_listing(change, ["firewall-cmd", *zone, "--list-all"], _zone_name(zone))
        for rule in _OPEN_ALL:
            base = ["firewall-cmd", *zone]
            change.add([*base, f"--add-rich-rule={rule}", f"--timeout={seconds}s"],
                       [*base, f"--query-rich-rule={rule}"])
            change.undo.append([*base, f"--remove-rich-rule={rule}"])
        change.notes.append(f"firewalld itself removes these rules after {seconds}s (its "
                            f"--timeout); rich rules that reject traffic still apply.")
        return change
