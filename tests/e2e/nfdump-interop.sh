#!/usr/bin/env bash
# Interop with nfdump: each capture is replayed through `spanflow -v VERSION` (5, 9 or 10) into
# nfdump's nfcapd on loopback. Then `nfdump -I` must count the same flows, packets and bytes as
# spanflow's own JSON output (v5: the IPv4 flows, as v5 carries no IPv6) with 0 sequence failures,
# and every flow nfdump stored must equal spanflow's in the fields the format carries, start and
# end times to the millisecond. Where ../shared is present, the stored flows are also checked
# against tshark's per-key totals (flow-oracle, times within 1 ms).
# Usage: nfdump-interop.sh VERSION SPANFLOW SOURCE_DIR [SHARED_DIR]
set -uo pipefail
version=$1
spanflow=$2
source_dir=$3
shared=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
for tool in nfcapd nfdump; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (scripts/install-deps)"; exit 1; }
done
export TZ=UTC

work=$(mktemp -d)
nfcapd_pid=
cleanup() {
    [ -n "$nfcapd_pid" ] && kill "$nfcapd_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0

captures=("$source_dir"/pcaps/*.pcap "$source_dir"/pcaps/*.pcapng)
if [ -n "$shared" ] && [ -d "$shared/pcaps" ]; then
    captures+=("$shared"/pcaps/*.pcap "$shared"/pcaps/*.pcapng "$shared"/pcaps/*.cap)
fi

# Starts nfcapd on a free loopback port; sets nfcapd_pid and port. The port is free when picked
# but another test may take it before nfcapd binds, so a failed start is retried on a new one.
start_nfcapd() {
    local try
    for try in 1 2 3 4 5; do
        port=$(free_udp_port)
        rm -f "$work/nfcapd.log"  # the last capture's "Startup" line is not this nfcapd's
        nfcapd -b 127.0.0.1 -p "$port" -B 16777216 -w "$work/nf" >"$work/nfcapd.log" 2>&1 &
        nfcapd_pid=$!
        wait_for_line "$work/nfcapd.log" "Startup" "$nfcapd_pid" && return 0
        kill "$nfcapd_pid" 2>/dev/null
        wait "$nfcapd_pid" 2>/dev/null
        nfcapd_pid=
    done
    return 1
}

# queue_empty PORT: true when the kernel holds no unread datagram for the UDP port (its receive
# queue in /proc/net/udp is empty); waits up to 10 s for that.
queue_empty() {
    local hex queue
    hex=$(printf ':%04X ' "$1")
    for _ in $(seq 200); do
        queue=$(awk -v p="$hex" 'index($2 " ", p) { split($5, q, ":"); print q[2] }' /proc/net/udp)
        [ -z "$queue" ] || [ "$queue" = "00000000" ] && return 0
        sleep 0.05
    done
    return 1
}

# settle_nfcapd PORT: true once nfcapd has processed every datagram sent to it. An empty queue is
# not enough: nfcapd checks for SIGTERM between taking a datagram and processing it, and drops that
# datagram when the signal comes in between (nfcapd.c, 1.7). So an empty datagram, which nfcapd
# takes and ignores, follows the export; nfcapd reads one datagram at a time, so once it has taken
# that one from the queue it has processed all before it, and a SIGTERM can only cost the empty one.
settle_nfcapd() {
    queue_empty "$1" || return 1
    /usr/bin/python3 -c 'import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"", ("127.0.0.1", int(sys.argv[1])))' "$1"
    queue_empty "$1"
}

# v5 carries IPv4 flows only; the oracle comparison then leaves IPv6 keys out too.
family_pattern='"source'
oracle_family=()
if [ "$version" = 5 ]; then
    family_pattern='"sourceIPv4Address"'
    oracle_family=(--ipv4-only)
fi

for capture in "${captures[@]}"; do
    [ -f "$capture" ] || continue
    name=$(basename "$capture")
    # Only captures spanflow reads to the end: the damaged and refused ones (exit 1 or 2, with
    # their one-line error) are checked by the replay and corpus tests. Anything else fails.
    "$spanflow" -r "$capture" -w "$work/probe.jsonl" 2>"$work/probe.err"
    status=$?
    if [ $status -eq 1 ] || [ $status -eq 2 ]; then
        echo "skip $name: not read to the end: $(tail -n 1 "$work/probe.err")"
        continue
    elif [ $status -ne 0 ]; then
        echo "FAIL $name: spanflow exit $status: $(tail -n 1 "$work/probe.err")"
        fail=$((fail + 1)); continue
    fi
    grep -q "$family_pattern" "$work/probe.jsonl" || continue

    rm -rf "$work/nf" && mkdir -p "$work/nf"
    if ! start_nfcapd; then
        echo "FAIL $name: nfcapd did not start: $(tail -n 1 "$work/nfcapd.log")"
        fail=$((fail + 1)); continue
    fi
    "$spanflow" -r "$capture" -n "127.0.0.1:$port" -v "$version" -w "$work/probe.jsonl" 2>"$work/probe.err"
    status=$?
    settled=yes
    settle_nfcapd "$port" || settled=
    kill -TERM "$nfcapd_pid"
    wait "$nfcapd_pid" 2>/dev/null
    nfcapd_pid=

    if [ -z "$settled" ]; then
        echo "FAIL $name: nfcapd left datagrams unread for 10 s"
        fail=$((fail + 1)); continue
    fi

    if [ $status -ne 0 ]; then
        echo "FAIL $name: spanflow exit $status: $(tail -n 1 "$work/probe.err")"
        fail=$((fail + 1)); continue
    fi
    grep "$family_pattern" "$work/probe.jsonl" >"$work/carried.jsonl"
    want=$(/usr/bin/python3 -c '
import json, sys
f = p = b = 0
for line in open(sys.argv[1]):
    r = json.loads(line); f += 1; p += r["packetDeltaCount"]; b += r["octetDeltaCount"]
print(f"Flows: {f} Packets: {p} Bytes: {b} Sequence failures: 0")' "$work/carried.jsonl")
    got=$(nfdump -R "$work/nf" -I 2>/dev/null | grep -E '^(Flows|Packets|Bytes|Sequence failures):' | tr '\n' ' ' | sed 's/ *$//')
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: nfdump -I says '$got', spanflow '$want'"
        fail=$((fail + 1)); continue
    fi
    nfdump -R "$work/nf" -o json 2>/dev/null | "$here/nfdump-flows" >"$work/nfdump.jsonl"
    # Field for field (those nfdump-flows reads back), times to the millisecond.
    strip='[r.pop(k, None) for k in ("flowEndReason", "vlanId", "sourceMacAddress", "destinationMacAddress")]'
    /usr/bin/python3 -c "
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); $strip; print(json.dumps(r, sort_keys=True))" "$work/carried.jsonl" | sort >"$work/a"
    /usr/bin/python3 -c "
import json, sys
for line in open(sys.argv[1]):
    print(json.dumps(json.loads(line), sort_keys=True))" "$work/nfdump.jsonl" | sort >"$work/b"
    if ! diff -q "$work/a" "$work/b" >/dev/null; then
        echo "FAIL $name: flows stored by nfcapd differ from spanflow's:"
        diff "$work/a" "$work/b" | head -n 6
        fail=$((fail + 1)); continue
    fi
    extra=
    if [ -n "$shared" ] && [ -x "$shared/tools/flow-oracle" ] && [[ "$capture" == "$shared"/* ]]; then
        if ! verdict=$(agree_with_tshark "$shared" "$capture" "$work/nfdump.jsonl" "$work" \
                "${oracle_family[@]}"); then
            echo "FAIL $name: nfdump's flows disagree with tshark: $verdict"
            fail=$((fail + 1)); continue
        fi
        extra=", tshark agrees"
    fi
    echo "ok   $name: $got$extra"
    pass=$((pass + 1))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
