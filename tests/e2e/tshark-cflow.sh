#!/usr/bin/env bash
# Interop with Wireshark: every capture in pcaps/ (and ../shared/pcaps when present) is replayed
# through `spanflow -v VERSION` (9 or 10) to a loopback port while dumpcap captures that port.
# tshark, decoding the port as CFLOW, must then see every datagram spanflow sent, decode every
# flow record spanflow exported (counted by their source addresses), and report no malformed
# packet, no expert error and no expert warning (an unexpected sequence number is a warning).
# Usage: tshark-cflow.sh VERSION SPANFLOW SOURCE_DIR [SHARED_DIR]
set -uo pipefail
version=$1
spanflow=$2
source_dir=$3
shared=${4:-}
for tool in dumpcap tshark; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is not installed (scripts/install-deps)"; exit 1; }
done

work=$(mktemp -d)
dumpcap_pid=
cleanup() {
    [ -n "$dumpcap_pid" ] && kill "$dumpcap_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

captures=("$source_dir"/pcaps/*.pcap "$source_dir"/pcaps/*.pcapng)
if [ -n "$shared" ] && [ -d "$shared/pcaps" ]; then
    captures+=("$shared"/pcaps/*.pcap "$shared"/pcaps/*.pcapng "$shared"/pcaps/*.cap)
fi
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
port=$(free_udp_port)

# A receiver on the port, so that the kernel answers no datagram with ICMP port unreachable.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
try:
    while True:
        s.recv(65536)
except socket.timeout:
    pass' "$port" &
sink_pid=$!

# dumpcap says "Capturing on" before its capture may take every packet on a loaded machine: a
# second port gets warm-up datagrams until one shows in the file, and only then does the replay
# begin. The warm-up port is left out of everything below.
warmup=$((port == 65535 ? port - 1 : port + 1))
dumpcap -q -i lo -f "udp dst port $port or udp dst port $warmup" -B 64 -w "$work/export.pcapng" \
    >"$work/dumpcap.log" 2>&1 &
dumpcap_pid=$!
for _ in $(seq 100); do
    grep -q "Capturing on" "$work/dumpcap.log" 2>/dev/null && break
    kill -0 "$dumpcap_pid" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "Capturing on" "$work/dumpcap.log"; then
    kill "$sink_pid" 2>/dev/null
    if grep -qi "permission\|privilege" "$work/dumpcap.log"; then
        # Capturing needs root or the wireshark group; CI runs as root.
        echo "SKIP: dumpcap may not capture on lo here: $(tail -n 1 "$work/dumpcap.log")"
        exit 0
    fi
    echo "FAIL: dumpcap did not start on lo: $(tail -n 1 "$work/dumpcap.log")"
    exit 1
fi

packets_in() {
    capinfos -c -M "$work/export.pcapng" 2>/dev/null | sed -n 's/^Number of packets: *//p'
}
for _ in $(seq 100); do
    /usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"warm-up", ("127.0.0.1", int(sys.argv[1])))' "$warmup"
    [ "$(packets_in)" -ge 1 ] 2>/dev/null && break
    sleep 0.1
done
sleep 0.3  # let warm-up datagrams still in flight land before the replay starts

datagrams=0
records=0
runs=0
domain=0
for capture in "${captures[@]}"; do
    [ -f "$capture" ] || continue
    domain=$((domain + 1))
    # Each replay is its own observation domain / source id, so Wireshark keeps their templates
    # and sequence numbers apart.
    if [ "$version" = 9 ]; then id=(--engine-id "$domain"); else id=(--observation-domain "$domain"); fi
    "$spanflow" -r "$capture" -v "$version" -n "127.0.0.1:$port" "${id[@]}" 2>"$work/probe.err"
    status=$?
    if [ $status -gt 2 ]; then
        echo "FAIL $(basename "$capture"): spanflow exit $status: $(tail -n 1 "$work/probe.err")"
        kill "$sink_pid" 2>/dev/null
        exit 1
    fi
    sent=$(sed -n 's/^ *datagrams  *\([0-9][0-9]*\)$/\1/p' "$work/probe.err" | head -n 1)
    exported=$(sed -n 's/^ *\(IPFIX\|NetFlow v9\) records exported  *\([0-9][0-9]*\)$/\2/p' "$work/probe.err")
    datagrams=$((datagrams + ${sent:-0}))
    records=$((records + ${exported:-0}))
    runs=$((runs + 1))
done

# dumpcap writes what it took from the kernel in its own time: wait until it holds every datagram.
# Count only the export port's packets, so the warm-up datagrams in flight cannot be mistaken.
port_packets() {
    tshark -n -r "$work/export.pcapng" -Y "udp.dstport == $port" -T fields -e frame.number 2>/dev/null | wc -l
}
for _ in $(seq 60); do
    [ "$(port_packets)" -ge "$datagrams" ] && break
    sleep 0.25
done
kill -INT "$dumpcap_pid"
wait "$dumpcap_pid" 2>/dev/null
dumpcap_pid=
kill "$sink_pid" 2>/dev/null
wait "$sink_pid" 2>/dev/null

decode=(tshark -n -r "$work/export.pcapng" -d "udp.port==$port,cflow")
only="udp.dstport == $port"
frames=$("${decode[@]}" -Y "$only && cflow" -T fields -e frame.number 2>/dev/null | wc -l)
all=$("${decode[@]}" -Y "$only" -T fields -e frame.number 2>/dev/null | wc -l)
decoded=$("${decode[@]}" -Y "$only && cflow" -T fields -E occurrence=a -E aggregator=, \
    -e cflow.srcaddr -e cflow.srcaddrv6 2>/dev/null | tr ',\t' '\n\n' | grep -c .)
malformed=$("${decode[@]}" -Y "$only && _ws.malformed" -T fields -e frame.number 2>/dev/null | wc -l)
# Expert severities: 0x00800000 error, 0x00600000 warning.
"${decode[@]}" -Y "$only && _ws.expert.severity >= 0x00600000" -T fields -E occurrence=a -E aggregator='|' \
    -e frame.number -e _ws.expert.severity -e _ws.expert.message 2>/dev/null >"$work/expert.txt"
errors=$(awk -F'\t' '{ n = split($2, s, "|"); for (i = 1; i <= n; i++) if (s[i] + 0 >= 8388608) c++ } END { print c + 0 }' "$work/expert.txt")
warnings=$(awk -F'\t' '{ n = split($2, s, "|"); for (i = 1; i <= n; i++) if (s[i] + 0 < 8388608) c++ } END { print c + 0 }' "$work/expert.txt")

echo "$runs replays: spanflow sent $datagrams datagrams with $records flow records;" \
    "tshark read $all frames, $frames as CFLOW, $decoded flow records;" \
    "$malformed malformed, $errors expert errors, $warnings expert warnings"
fail=0
[ "$runs" -gt 0 ] || { echo "FAIL: no capture replayed"; fail=1; }
[ "$all" -eq "$datagrams" ] || { echo "FAIL: dumpcap holds $all datagrams, spanflow sent $datagrams ($(tail -n 1 "$work/dumpcap.log"))"; fail=1; }
[ "$frames" -eq "$all" ] || { echo "FAIL: $((all - frames)) datagrams did not decode as CFLOW"; fail=1; }
[ "$decoded" -eq "$records" ] || { echo "FAIL: tshark decoded $decoded flow records, spanflow exported $records"; fail=1; }
[ "$malformed" -eq 0 ] || { echo "FAIL: malformed frames: $("${decode[@]}" -Y "$only && _ws.malformed" -T fields -e frame.number 2>/dev/null | head -n 5 | tr '\n' ' ')"; fail=1; }
if [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
    echo "FAIL: expert infos:"
    head -n 5 "$work/expert.txt"
    fail=1
fi
exit $fail
