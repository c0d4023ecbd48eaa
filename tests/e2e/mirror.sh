#!/usr/bin/env bash
# Mirroring: `-n` repeated sends every datagram to each collector. One replay goes, in each format,
# to a spanflow-collect on 127.0.0.1, one on [::1] and a port where nothing listens; both
# collectors must write the same flows, and the collector that is down must show as counted
# refusals (ICMP port unreachable), no stall (the replay ends in seconds) and nothing elsewhere.
# Usage: mirror.sh SPANFLOW SPANFLOW_COLLECT SOURCE_DIR
set -uo pipefail
spanflow=$1
collect=$2
capture=$3/pcaps/proto-mix.pcap
export LC_ALL=C
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

if ! /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
    echo "SKIP: no IPv6 loopback here"
    exit 0
fi
# A UDP port with nothing behind it: bound, then closed.
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
silent=$(free_udp_port)

# start NAME ADDR: starts spanflow-collect on ADDR:0, sets port to the port it took.
start() {
    : >"$work/$1.err"
    "$collect" -l "$2:0" -w "$work/$1.jsonl" >/dev/null 2>"$work/$1.err" &
    pids+=($!)
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/^spanflow-collect: listening on .*:\([0-9][0-9]*\)$/\1/p' "$work/$1.err")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "FAIL: spanflow-collect on $2 printed no port: $(tail -n 1 "$work/$1.err")"
    exit 1
}

fail=0
for version in 5 9 10; do
    pids=()
    start v4 127.0.0.1; p4=$port
    start v6 '[::1]'; p6=$port
    # Two datagrams at least, so that the refusal of the first shows on the second.
    start_s=$SECONDS
    "$spanflow" -r "$capture" -v "$version" -n "127.0.0.1:$p4" -n "[::1]:$p6" -n "127.0.0.1:$silent" \
        --max-datagram 400 -w "$work/probe.jsonl" 2>"$work/probe.err"
    status=$?
    elapsed=$((SECONDS - start_s))
    if [ "$version" = 5 ]; then
        want=$(grep -c '"sourceIPv4Address"' "$work/probe.jsonl")
    else
        want=$(wc -l <"$work/probe.jsonl")
    fi
    for _ in $(seq 100); do
        [ "$(cat "$work/v4.jsonl" 2>/dev/null | wc -l)" -ge "$want" ] &&
            [ "$(cat "$work/v6.jsonl" 2>/dev/null | wc -l)" -ge "$want" ] && break
        sleep 0.05
    done
    for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p"; done
    pids=()
    sent=$(grep -c "datagrams sent, 0 send errors" "$work/probe.err")
    refused=$(grep -c "collector 127.0.0.1:$silent: .*, [1-9][0-9]* refused (port unreachable" "$work/probe.err")
    if [ $status -ne 0 ] || [ "$elapsed" -gt 5 ] || [ "$sent" -ne 3 ] || [ "$refused" -ne 1 ]; then
        echo "FAIL v$version: spanflow exit $status after ${elapsed}s; its collectors:"
        grep "collector " "$work/probe.err"
        fail=1; continue
    fi
    got4=$(wc -l <"$work/v4.jsonl"); got6=$(wc -l <"$work/v6.jsonl")
    if [ "$got4" -ne "$want" ] || ! cmp -s <(sort "$work/v4.jsonl") <(sort "$work/v6.jsonl"); then
        echo "FAIL v$version: 127.0.0.1 got $got4 flows, [::1] $got6, spanflow exported $want"
        fail=1; continue
    fi
    echo "ok   v$version: $want flows at 127.0.0.1 and [::1] alike; the one down: $(sed -n "s/^ *collector 127.0.0.1:$silent: //p" "$work/probe.err")"
done
exit $fail
