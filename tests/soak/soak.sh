#!/usr/bin/env bash
# Soak: spanflow and spanflow-collect running for a long time, their resident memory and open
# descriptors sampled every few seconds.
#   replay  one spanflow reading an endless capture from a pipe (the same 20000 packets of 2000
#           flows over and over, each round 2 s of packet time later than the one before, fed at
#           about 50000 packets a second), exporting IPFIX to one spanflow-collect;
#   live    (root) one spanflow capturing on a veth pair in namespaces this script makes, the
#           same capture sent into it by tcpreplay, over and over, at 20000 packets a second.
# Each phase gets half of SECONDS; samples every second (every 5 s from 10 minutes on). Checks: after a warm-up (the first fifth), resident memory and
# open descriptors stay flat (the last third's peak within 5% and 4 MiB of the middle third's,
# descriptors the same number throughout), the collector's sequence accounting finds no record
# lost and the kernel dropped none, and every flow the probe's report counts reached the collector.
# The samples go to SOAK_LOG_DIR when set (for bench/README.md), else to a scratch folder.
#
# Usage: tests/soak/soak.sh BUILD_DIR SECONDS     (.ci/run: 120; bench/README.md: 1800)
set -uo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: $0 BUILD_DIR SECONDS" >&2
    exit 2
fi
build=$1
seconds=$2
probe=$build/probe/app/spanflow
collect=$build/export/collector/spanflow-collect
make_flow_pcap=$build/bench/make-flow-pcap
source "$(dirname "$0")/../e2e/lib.sh"  # ok, bad, report_sum, wait_for_line, live_veth

work=$(mktemp -d)
logs=${SOAK_LOG_DIR:-$work}
mkdir -p "$logs"
ns_a=
ns_b=
cleanup() {
    local pid
    for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    [[ -n $ns_a ]] && ip netns del "$ns_a" 2>/dev/null
    [[ -n $ns_b ]] && ip netns del "$ns_b" 2>/dev/null
    rm -rf "$work"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$make_flow_pcap" -o "$work/round.pcap" --flows 2000 --packets 20000 --pps 10000 >/dev/null

# sample NAME PID...: every $interval s until the first PID ends, "seconds rss_kib fds" per PID
# in $logs/NAME-PID.samples.
sample() {
    local name=$1
    shift
    local start=$SECONDS pid
    while kill -0 "$1" 2>/dev/null; do
        for pid in "$@"; do
            local rss fds
            rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
            fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
            [[ -n $rss ]] && echo "$((SECONDS - start)) $rss $fds" >>"$logs/$name-$pid.samples"
        done
        sleep "$interval"
    done
}

# flat NAME FILE WHAT: the samples of FILE after the warm-up: memory and descriptors flat.
flat() {
    local name=$1 file=$2 what=$3
    local verdict
    verdict=$(awk -v total="$half" '
        { t[NR] = $1; r[NR] = $2; f[NR] = $3 }
        END {
            n = 0
            for (i = 1; i <= NR; i++) if (t[i] >= total / 5) { n++; T[n] = t[i]; R[n] = r[i]; F[n] = f[i] }
            if (n < 6) { print "too few samples (" NR ")"; exit 1 }
            third = int(n / 3); mid = 0; last = 0; fmin = F[1]; fmax = F[1]
            for (i = 1; i <= n; i++) {
                if (F[i] < fmin) fmin = F[i]; if (F[i] > fmax) fmax = F[i]
                if (i > third && i <= 2 * third && R[i] > mid) mid = R[i]
                if (i > 2 * third && R[i] > last) last = R[i]
            }
            printf "RSS peak %d KiB in the middle third, %d in the last; %d-%d descriptors", mid, last, fmin, fmax
            if (last > mid * 1.05 + 4096 || fmin != fmax) exit 1
        }' "$file")
    if [[ $? -eq 0 ]]; then ok "$name: $what flat: $verdict"; else bad "$name: $what not flat: $verdict"; fi
}

# collector_verdict NAME PROBE_ERR COLLECTOR_ERR RECORDS
collector_verdict() {
    local name=$1 err=$2 cerr=$3 records=$4
    local ended lost drops got
    ended=$(report_sum "$err" "flows ended")
    got=$(wc -l <"$records")
    lost=$(sed -n 's/.* \([0-9][0-9]*\) lost records.*/\1/p' "$cerr" | head -n 1)
    drops=$(sed -n 's/.* \([0-9][0-9]*\) kernel drops.*/\1/p' "$cerr" | head -n 1)
    if [[ $ended -gt 0 && $got -eq $ended && ${lost:-x} == 0 && ${drops:-0} == 0 ]]; then
        ok "$name: $ended flows, all at the collector; 0 lost records, 0 kernel drops"
    else
        bad "$name: report $ended flows, collector $got, lost ${lost:-?}, kernel drops ${drops:-?}"
    fi
}

half=$((seconds / 2))
interval=1  # seconds between samples: 5 for a long soak
[[ $half -ge 300 ]] && interval=5

# --- replay: one probe on an endless pipe --------------------------------------------------------

"$collect" -l 127.0.0.1:0 -w "$work/replay.jsonl" 2>"$work/replay-c.err" &
cpid=$!
wait_for_line "$work/replay-c.err" "listening on" "$cpid" 10 || { echo "spanflow-collect did not start"; exit 1; }
port=$(collector_port "$work/replay-c.err")
mkfifo "$work/stream"
python3 - "$work/round.pcap" "$work/stream" "$half" <<'EOF' &
import struct, sys, time
data = open(sys.argv[1], "rb").read()
header, body = data[:24], data[24:]
records = [body[i:i + 80] for i in range(0, len(body), 80)]  # 16-byte header, 64-byte frame
end = time.monotonic() + float(sys.argv[3])
with open(sys.argv[2], "wb") as out:
    out.write(header)
    shift = 0  # seconds of packet time added to each round
    while time.monotonic() < end:
        started = time.monotonic()
        chunk = bytearray()
        for r in records:
            sec, usec = struct.unpack_from("<II", r)
            chunk += struct.pack("<II", sec + shift, usec) + r[8:]
        out.write(chunk)
        out.flush()
        shift += 2
        time.sleep(max(0.0, 0.4 - (time.monotonic() - started)))  # 20000 packets per 0.4 s
EOF
feeder=$!
"$probe" -r "$work/stream" -n "127.0.0.1:$port" --inactive-timeout 1 2>"$work/replay.err" &
ppid=$!
sample replay "$ppid" "$cpid" &
sampler=$!
wait "$feeder"
wait "$ppid"
wait "$sampler"
sleep 1
kill -TERM "$cpid"
wait "$cpid"
flat "replay probe" "$logs/replay-$ppid.samples" "spanflow's memory and descriptors"
flat "replay collector" "$logs/replay-$cpid.samples" "spanflow-collect's memory and descriptors"
collector_verdict "replay" "$work/replay.err" "$work/replay-c.err" "$work/replay.jsonl"

# --- live: one probe on a veth pair --------------------------------------------------------------

if ! live_veth "soak-$$"; then
    echo "skip the live soak: $live_veth_skip"
else
    ip netns exec "$ns_b" "$collect" -l 127.0.0.1:0 -w "$work/live.jsonl" 2>"$work/live-c.err" &
    cpid=$!
    wait_for_line "$work/live-c.err" "listening on" "$cpid" 10
    port=$(collector_port "$work/live-c.err")
    ip netns exec "$ns_b" "$probe" -i vB -n "127.0.0.1:$port" --inactive-timeout 1 2>"$work/live.err" &
    ppid=$!
    wait_for_line "$work/live.err" "capturing on" "$ppid" 10
    sample live "$ppid" "$cpid" &
    sampler=$!
    timeout "$half" ip netns exec "$ns_a" tcpreplay -q -i vA --pps 20000 --loop 0 "$work/round.pcap" >/dev/null 2>&1
    sleep 2  # the last flows' idle timeout
    kill -TERM "$ppid"
    wait "$ppid"
    wait "$sampler"
    sleep 1
    kill -TERM "$cpid"
    wait "$cpid"
    flat "live probe" "$logs/live-$ppid.samples" "spanflow's memory and descriptors"
    flat "live collector" "$logs/live-$cpid.samples" "spanflow-collect's memory and descriptors"
    collector_verdict "live" "$work/live.err" "$work/live-c.err" "$work/live.jsonl"
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
