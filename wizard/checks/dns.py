"""Checks `dns.resolves` (does the --url host lead to this machine?) and
`dns.upstream_names` (do the upstream host names in nginx's *_pass resolve?)."""

from __future__ import annotations

from wizard.checks.base import check
from wizard.host.facts import Facts, FactUnavailable
from wizard.outcome import CIRCUMSTANTIAL, DIRECT, CheckResult, Evidence, Status


@check("dns.resolves",
       results={"ok": Status.OK, "not_here": Status.WARNING, "unresolved": Status.PROBLEM},
       facts=("dns",), causes=("dns_resolution",))
def dns_resolves(facts: Facts) -> CheckResult:
    """Does the requested host name resolve, and to an address of this machine?"""
    if not facts.options.url:
        return CheckResult("skipped", "no --url was given, so there is no host name to look up")
    try:
        dns = facts.get("dns")
    except FactUnavailable as exc:
        return CheckResult("unknown", f"the name lookup could not be made: {exc}")
    answer, host = dns.get("url"), dns.get("url_host")
    if dns.get("url_host_is_ip"):
        return CheckResult("skipped", f"{host} is an IP address; there is no name to look up",
                           vars={"host": host})
    if not answer:
        return CheckResult("unknown", dns.get("url_error") or "the --url host was not looked up")
    local = dns.get("local_addresses") or []
    found = {"host": host, "addresses": ", ".join(answer.get("addresses") or []),
             "local_addresses": ", ".join(local), "error": answer.get("error") or ""}
    if answer.get("error") or not answer.get("addresses"):
        reason = found["error"] or "no addresses"
        return CheckResult("unresolved", f"{host} does not resolve: {reason}",
                           vars=found, confidence=DIRECT, causes=["dns_resolution"],
                           evidence=[Evidence("probe", f"getaddrinfo({host}): {found['error']}")])
    evidence = [Evidence("probe", f"getaddrinfo({host}) = {found['addresses']}"),
                Evidence("probe", f"this machine's addresses: {found['local_addresses']}")]
    if not answer.get("points_here"):
        # a load balancer, NAT or CDN in front of this host makes this normal: only a warning
        return CheckResult("not_here", f"{host} resolves to {found['addresses']}, which is not"
                                       " an address of this machine", vars=found,
                           evidence=evidence, confidence=CIRCUMSTANTIAL,
                           causes=["dns_resolution"])
    return CheckResult("ok", f"{host} resolves to {found['addresses']} (this machine)",
                       vars=found, evidence=evidence)


@check("dns.upstream_names", results={"ok": Status.OK, "unresolved": Status.PROBLEM},
       facts=("dns",), causes=("upstream_dns",))
def dns_upstream_names(facts: Facts) -> CheckResult:
    """Do the host names that nginx proxies to resolve?"""
    try:
        names = facts.get("dns").get("upstream_names") or []
    except FactUnavailable as exc:
        return CheckResult("unknown", f"the name lookups could not be made: {exc}")
    if not names:
        return CheckResult("skipped", "nginx passes requests only to IP addresses or sockets")
    failed = [n for n in names if n.get("error") or not n.get("addresses")]
    evidence = [Evidence("probe", f"getaddrinfo({n['name']}) = "
                                  f"{', '.join(n.get('addresses') or []) or n.get('error')}")
                for n in names]
    if failed:
        first = failed[0]
        return CheckResult(
            "unresolved", f"the upstream host {first['name']} does not resolve:"
                          f" {first.get('error') or 'no addresses'}",
            vars={"name": first["name"], "error": first.get("error") or "no addresses",
                  "file": first.get("file") or "", "line": first.get("line") or "",
                  "names": ", ".join(n["name"] for n in failed)},
            evidence=evidence, confidence=DIRECT, causes=["upstream_dns"])
    return CheckResult("ok", "every upstream host name resolves: "
                             + ", ".join(n["name"] for n in names),
                       vars={"names": ", ".join(n["name"] for n in names)}, evidence=evidence)
