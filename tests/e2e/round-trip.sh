#!/usr/bin/env bash
# Round trip: every capture in pcaps/ (and ../shared/pcaps when present) is replayed once through
# `spanflow -v VERSION -n COLLECTOR -w OUT.jsonl` into spanflow-collect on loopback. The collector's
# sorted JSON lines must equal the probe's own -w lines of the same replay, less what the format
# cannot carry:
#   all formats: vlanId 0 and all-zero MAC addresses (a priority tag, or no address: exported as 0,
#                which collectors read as none);
#   v5:          IPv6 flows, flowEndReason, vlanId and MAC addresses.
# For the shared captures, the collector's flows must also agree with tshark's per-key totals
# (flow-oracle compare, times within 1 ms where the capture's times are valid).
# Usage: round-trip.sh VERSION SPANFLOW SPANFLOW_COLLECT SOURCE_DIR [SHARED_DIR]
set -uo pipefail
version=$1
spanflow=$2
collect=$3
source_dir=$4
shared=${5:-}
export LC_ALL=C
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

work=$(mktemp -d)
collect_pid=
cleanup() {
    [ -n "$collect_pid" ] && kill "$collect_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

captures=("$source_dir"/pcaps/*.pcap "$source_dir"/pcaps/*.pcapng)
if [ -n "$shared" ] && [ -d "$shared/pcaps" ]; then
    captures+=("$shared"/pcaps/*.pcap "$shared"/pcaps/*.pcapng "$shared"/pcaps/*.cap)
fi

# carried FILE: the -w lines as this format carries them.
carried() {
    [ -f "$1" ] || return 0
    if [ "$version" = 5 ]; then
        { grep -v '"sourceIPv6Address"' "$1" || true; } |
            sed -E 's/,"(flowEndReason|vlanId)":[0-9]+//g; s/,"(source|destination)MacAddress":"[^"]*"//g'
    else
        sed -E 's/,"vlanId":0([,}])/\1/; s/,"(source|destination)MacAddress":"00:00:00:00:00:00"//g' "$1"
    fi
}

pass=0
fail=0
for capture in "${captures[@]}"; do
    [ -f "$capture" ] || continue
    name=$(basename "$capture")
    rm -f "$work/collect.jsonl" "$work/probe.jsonl"
    : >"$work/collect.err"
    "$collect" -l 127.0.0.1:0 -w "$work/collect.jsonl" >/dev/null 2>"$work/collect.err" &
    collect_pid=$!
    port=
    for _ in $(seq 100); do
        port=$(collector_port "$work/collect.err")
        [ -n "$port" ] && break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "FAIL $name: spanflow-collect printed no port: $(tail -n 1 "$work/collect.err")"
        fail=$((fail + 1)); kill "$collect_pid" 2>/dev/null; wait "$collect_pid" 2>/dev/null; collect_pid=
        continue
    fi
    "$spanflow" -r "$capture" -v "$version" -n "127.0.0.1:$port" -w "$work/probe.jsonl" 2>"$work/probe.err"
    status=$?
    carried "$work/probe.jsonl" | sort >"$work/want"
    want=$(wc -l <"$work/want")
    # The collector flushes its output when idle: wait until it holds every record, then stop it.
    for _ in $(seq 100); do
        [ "$(wc -l <"$work/collect.jsonl" 2>/dev/null || echo 0)" -ge "$want" ] && break
        sleep 0.05
    done
    kill -TERM "$collect_pid"
    wait "$collect_pid"
    cstatus=$?
    collect_pid=
    if [ $status -gt 2 ] || { [ $status -ne 0 ] && [ "$want" -eq 0 ]; }; then
        echo "skip $name: spanflow exit $status: $(tail -n 1 "$work/probe.err")"
        continue
    fi
    sort "$work/collect.jsonl" >"$work/got"
    if [ $cstatus -ne 0 ]; then
        echo "FAIL $name: spanflow-collect exit $cstatus: $(tail -n 1 "$work/collect.err")"
        fail=$((fail + 1)); continue
    fi
    if ! diff -q "$work/want" "$work/got" >/dev/null; then
        echo "FAIL $name: spanflow-collect's flows differ from spanflow -w (- probe, + collector):"
        diff -u "$work/want" "$work/got" | sed -n '3,8p'
        fail=$((fail + 1)); continue
    fi
    summary=$(grep -E 'datagrams, [0-9]+ records' "$work/collect.err" | tail -n 1 | sed 's/^spanflow-collect: //')
    # Nothing malformed, lost, out of order, held or dropped for want of a template.
    if [[ "$summary" != *" 0 malformed,"* || "$summary" != *", 0 lost records, 0 out of order"* ||
        "$summary" == *"template"* ]]; then
        echo "FAIL $name: spanflow-collect reports: $summary"
        fail=$((fail + 1)); continue
    fi
    extra=
    if [ -n "$shared" ] && [ -x "$shared/tools/flow-oracle" ] && [[ "$capture" == "$shared"/* ]] &&
        [ $status -eq 0 ]; then
        family=()
        [ "$version" = 5 ] && family=(--ipv4-only)
        if ! verdict=$(agree_with_tshark "$shared" "$capture" "$work/got" "$work" "${family[@]}"); then
            echo "FAIL $name: spanflow-collect's flows disagree with tshark: $verdict"
            fail=$((fail + 1)); continue
        fi
        extra=", tshark agrees"
    fi
    echo "ok   $name: $want flows$extra"
    pass=$((pass + 1))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
