#!/bin/sh
# Re-records the listings a firewall fix plan is made from (and pinned to, as its
# preconditions) for tests/unit/test_fix_firewall.py: each one as the plan reads it, and
# again after somebody else changed the rules ("_changed"), for real, inside throw-away
# network namespaces (run as root on Debian 12 with iptables, nftables, ufw and firewalld).
# firewalld's zone is listed with firewall-offline-cmd, as in record.sh (no D-Bus here).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
NS="wizlst$$"
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "/etc/netns/$NS"; rmdir /etc/netns 2>/dev/null || true; }
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }
fresh() { cleanup; ip netns add "$NS"; in_ns ip link set lo up; }

# 1. iptables (-nft): a drop in INPUT, what `-S INPUT` and the whole filter table read,
#    then somebody inserts an ACCEPT of their own at the top.
fresh
in_ns iptables -A INPUT -i lo -j ACCEPT
in_ns iptables -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
in_ns iptables -A INPUT -p tcp -m tcp --dport 8080 -j DROP
in_ns iptables-nft -t filter -S INPUT > "$HERE/listing_iptables-S-INPUT.txt"
in_ns iptables-nft -t filter -S > "$HERE/listing_iptables-S-filter.txt"
# with iptables-legacy rules present too, iptables-nft warns on stderr (a "#" line)
in_ns iptables-legacy -A INPUT -p tcp -m tcp --dport 9 -j DROP
in_ns iptables-nft -t filter -S INPUT 2> "$HERE/listing_iptables-S-INPUT_legacy-warning.stderr" >/dev/null
in_ns iptables -I INPUT 1 -p tcp -m tcp --dport 9999 -j ACCEPT
in_ns iptables-nft -t filter -S INPUT 2>/dev/null > "$HERE/listing_iptables-S-INPUT_changed.txt"

# 2. nftables: a drop with a counter in its own table; traffic to it; then a new rule.
fresh
in_ns nft -f - <<'NFT'
table inet wizlab {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established accept
		tcp dport 22 accept
		tcp dport 8080 counter drop
	}
}
NFT
in_ns python3 -c 'import socket
try: socket.create_connection(("127.0.0.1", 8080), timeout=0.3)
except OSError: pass'
in_ns nft -a -s list chain inet wizlab input > "$HERE/listing_nft-a-s-chain.txt"
in_ns nft -a list chain inet wizlab input > "$HERE/listing_nft-a-chain_counters.txt"
in_ns nft -s list ruleset > "$HERE/listing_nft-s-ruleset.txt"
in_ns nft insert rule inet wizlab input tcp dport 9999 accept
in_ns nft -a -s list chain inet wizlab input > "$HERE/listing_nft-a-s-chain_changed.txt"

# 3. ufw: a deny for 8080; then somebody denies 9999 too.
fresh
mkdir -p "/etc/netns/$NS" && cp -a /etc/ufw "/etc/netns/$NS/ufw"
in_ns ufw --force enable >/dev/null
in_ns ufw allow 22/tcp >/dev/null
in_ns ufw deny 8080/tcp >/dev/null
LC_ALL=C LANG=C in_ns ufw status verbose > "$HERE/listing_ufw-status-verbose.txt"
in_ns ufw deny 9999/tcp >/dev/null
LC_ALL=C LANG=C in_ns ufw status verbose > "$HERE/listing_ufw-status-verbose_changed.txt"

# 4. firewalld: the public zone with a rich rule that rejects 8080; then a port added.
fresh
mkdir -p "/etc/netns/$NS" && cp -a /etc/firewalld "/etc/netns/$NS/firewalld"
in_ns firewall-offline-cmd --zone=public --add-rich-rule='rule family="ipv4" port port="8080" protocol="tcp" reject' >/dev/null
in_ns firewall-offline-cmd --zone=public --list-all > "$HERE/listing_firewalld-list-all.txt"
in_ns firewall-offline-cmd --zone=public --add-port=9999/tcp >/dev/null
in_ns firewall-offline-cmd --zone=public --list-all > "$HERE/listing_firewalld-list-all_changed.txt"
