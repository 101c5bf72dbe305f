#!/bin/sh
# Re-records the firewall outputs in this folder, for real, inside throw-away network
# namespaces (run as root on Debian 12 with iptables, nftables and ufw installed).
# firewall-cmd_list-all*.txt were recorded with `firewall-offline-cmd --list-all` from
# firewalld 1.3.3 inside a namespace whose /etc/firewalld was a copy (/etc/netns/NAME/):
# the firewalld daemon needs a system D-Bus, which this machine does not run; the zone
# listing has the same format as `firewall-cmd --list-all` apart from the "(active)" tag.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
NS="wizrec$$"
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "/etc/netns/$NS"; rmdir /etc/netns 2>/dev/null || true; }
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }

fresh() { cleanup; ip netns add "$NS"; in_ns ip link set lo up; }

# 1. iptables: explicit rules before an ACCEPT policy, a user chain, a partial (source) drop.
fresh
in_ns iptables -N WEB
in_ns iptables -A INPUT -i lo -j ACCEPT
in_ns iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
in_ns iptables -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
in_ns iptables -A INPUT -p tcp -m tcp --dport 8080 -j DROP
in_ns iptables -A INPUT -p tcp -m multiport --dports 443,9000:9010 -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset
in_ns iptables -A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 8443 -m comment --comment "no office access" -j DROP
in_ns iptables -A INPUT -p tcp -j WEB
in_ns iptables -A WEB -p tcp -m tcp --dport 8081 -j DROP
in_ns iptables -A WEB -j RETURN
in_ns iptables -S > "$HERE/iptables-S.txt"
in_ns iptables -L INPUT -n --line-numbers > "$HERE/iptables-L-INPUT.txt"
# the same rules as nftables sees them (iptables-nft): must not count twice
in_ns nft -j list ruleset > "$HERE/nft-j-ruleset_iptables-nft.json"

# 2. iptables: DROP policy, only ssh and http let in.
fresh
in_ns iptables -A INPUT -i lo -j ACCEPT
in_ns iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
in_ns iptables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
in_ns iptables -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
in_ns iptables -P INPUT DROP
in_ns iptables -S > "$HERE/iptables-S_policy-drop.txt"

# 3. nftables of its own: sets, a named set, a partial drop, a reject.
fresh
in_ns nft -f - <<'NFT'
table inet filter {
	set blocked_ports {
		type inet_service
		elements = { 8443 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "lo" accept
		ct state established,related accept
		tcp dport 80 accept
		tcp dport { 9100, 9200 } drop
		tcp dport 8080 counter reject with tcp reset
		tcp dport @blocked_ports drop
		ip saddr 10.0.0.0/8 tcp dport 8444 drop
	}
}
NFT
in_ns nft -j list ruleset > "$HERE/nft-j-ruleset.json"
in_ns nft -a -s list ruleset > "$HERE/nft-a-ruleset.txt"

# 4. nftables with a drop policy and a verdict map.
fresh
in_ns nft -f - <<'NFT'
table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state vmap { established : accept, related : accept, invalid : drop }
		iif "lo" accept
		tcp dport { 22, 80 } accept
	}
}
NFT
in_ns nft -j list ruleset > "$HERE/nft-j-ruleset_policy-drop.json"
in_ns nft -a -s list ruleset > "$HERE/nft-a-ruleset_policy-drop.txt"

# 5. ufw, with its own copy of /etc/ufw (ip netns exec bind-mounts /etc/netns/NS/ufw).
fresh
mkdir -p "/etc/netns/$NS" && cp -a /etc/ufw "/etc/netns/$NS/ufw"
in_ns ufw status verbose > "$HERE/ufw-status-verbose_inactive.txt"
in_ns ufw --force enable >/dev/null
in_ns ufw allow 80/tcp >/dev/null
in_ns ufw deny 8080/tcp >/dev/null
in_ns ufw allow 9000:9010/tcp >/dev/null
in_ns ufw deny from 10.0.0.0/8 to any port 8443 proto tcp >/dev/null
in_ns ufw reject 8081 >/dev/null
in_ns ufw status verbose > "$HERE/ufw-status-verbose.txt"

# 6. what a non-root user is told
fresh
in_ns setpriv --reuid=nobody --regid=nogroup --clear-groups iptables -S > "$HERE/iptables-S_nonroot.txt" 2>&1 || true
in_ns setpriv --reuid=nobody --regid=nogroup --clear-groups nft -j list ruleset > "$HERE/nft_nonroot.txt" 2>&1 || true
in_ns setpriv --reuid=nobody --regid=nogroup --clear-groups ufw status verbose > "$HERE/ufw_nonroot.txt" 2>&1 || true
