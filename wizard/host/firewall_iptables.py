"""iptables (legacy or nft back-end): parse `iptables -S` and judge its rules."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import partial
from typing import Any

from wizard.host.firewall_walk import (
    BUILTIN_CHAINS,
    MAYBE,
    NO,
    YES,
    Step,
    Traffic,
    address_match,
    all_of,
    iface_match,
    opposite,
    port_in_spec,
    verdict,
    walk,
)

# --------------------------------------------------------------------------- iptables

@dataclass(frozen=True)
class IptRule:
    chain: str
    line: int  # position in its chain, as `iptables -L CHAIN --line-numbers` shows it
    text: str
    tokens: tuple[str, ...]


@dataclass
class IptRuleset:
    policies: dict[str, str]
    chains: dict[str, list[IptRule]]

    @property
    def has_rules(self) -> bool:
        return any(self.chains.values()) or any(
            p != "ACCEPT" for c, p in self.policies.items() if c in BUILTIN_CHAINS)


def parse_iptables_s(text: str) -> IptRuleset:
    """Parse `iptables -S` (filter table)."""
    rules = IptRuleset({}, {})
    for line in text.splitlines():
        line = line.strip()
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        if len(tokens) >= 3 and tokens[0] == "-P":
            rules.policies[tokens[1]] = tokens[2]
            rules.chains.setdefault(tokens[1], [])
        elif len(tokens) >= 2 and tokens[0] == "-N":
            rules.chains.setdefault(tokens[1], [])
        elif len(tokens) >= 2 and tokens[0] == "-A":
            chain = rules.chains.setdefault(tokens[1], [])
            chain.append(IptRule(tokens[1], len(chain) + 1, line, tuple(tokens[2:])))
    return rules


def _ipt_option(opt: str, value: str, t: Traffic) -> str | None:
    """Judge one match option; None means the option does not narrow the traffic."""
    if opt in ("-p", "--protocol"):
        return YES if value.lower() in ("tcp", "6", "all", "0") else NO
    if opt in ("-i", "--in-interface", "-o", "--out-interface"):
        return iface_match(value, t)
    if opt in ("-s", "--source", "--src"):
        return address_match(value, "src", t)
    if opt in ("-d", "--destination", "--dst"):
        return address_match(value, "dst", t)
    if opt in ("--dport", "--destination-port", "--dports", "--destination-ports"):
        return YES if port_in_spec(t.port, value) else NO
    if opt in ("--state", "--ctstate"):
        return YES if "NEW" in value.upper().split(",") else NO
    if opt == "--dst-type":
        if value.upper() == "LOCAL":
            return NO if t.path == "outgoing" else YES
        return MAYBE
    if opt in ("-m", "--match", "--comment"):
        return None
    return MAYBE


def judge_iptables(rule: IptRule, t: Traffic) -> tuple[str, str, str | None]:
    results: list[str] = []
    tokens, i, negate = rule.tokens, 0, False
    action, target = "continue", None
    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            negate = True
            i += 1
            continue
        if tok in ("-j", "--jump", "-g", "--goto"):
            target = tokens[i + 1] if i + 1 < len(tokens) else None
            is_goto = tok in ("-g", "--goto")
            action = {"ACCEPT": "accept", "DROP": "drop", "REJECT": "drop",
                      "RETURN": "return"}.get(target or "", "goto" if is_goto else "jump")
            break
        if tok in ("--syn",):
            results.append(opposite(YES) if negate else YES)
        elif tok in ("-f", "--fragment"):
            results.append(YES if negate else NO)
        elif tok.startswith("-"):
            # an option with its value(s): everything up to the next option
            j = i + 1
            while j < len(tokens) and not tokens[j].startswith("-") and tokens[j] != "!":
                j += 1
            value = " ".join(tokens[i + 1:j])
            judged = _ipt_option(tok, value, t)
            if judged is not None:
                results.append(opposite(judged) if negate else judged)
            i, negate = j, False
            continue
        i += 1
        negate = False
    return all_of(results), action, target


def judge_iptables_ruleset(rules: IptRuleset, traffic: list[Traffic], variant: str
                           ) -> list[dict[str, Any]]:
    entries = []
    for t in traffic:
        base = "OUTPUT" if t.path == "outgoing" else "INPUT"
        policy = rules.policies.get(base, "ACCEPT")
        decision = walk(rules.chains, base, partial(judge_iptables, t=t),
                        lambda r: Step(r.text, "filter", r.chain, r.line))
        entry = verdict(t, "iptables", decision, Step(f"-P {base} {policy}", "filter", base),
                        policy == "ACCEPT")
        entry["variant"] = variant
        entries.append(entry)
    return entries
