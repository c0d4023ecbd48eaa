#!/usr/bin/env bash
# A replay gives the same flow records, field for field, whatever the number of workers and the
# ring size (README: "Workers and determinism"). Every capture in pcaps/ (and in ../shared/pcaps
# when present) is replayed with 1 worker and a 256-slot ring, then with each configuration
# below; the sorted JSON lines and the exit status must be identical.
#
# One exception, by design: a run whose table fills (--max-flows, reason 5 evictions) evicts per
# shard, so for those only the per-key packet and byte totals must be identical.
#
# Usage: determinism.sh SPANFLOW SOURCE_DIR [SHARED_DIR]
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 SPANFLOW SOURCE_DIR [SHARED_DIR]" >&2
    exit 2
fi
probe=$1
source_dir=$2
shared=${3:-}
configs=("2 1" "3 7" "8 2" "8 256")  # workers, ring slots

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C

captures=("$source_dir"/pcaps/*.pcap "$source_dir"/pcaps/*.pcapng)
if [[ -n $shared && -d $shared/pcaps ]]; then
    captures+=("$shared"/pcaps/*.pcap "$shared"/pcaps/*.pcapng)
fi

# Per-key totals of a JSON lines file: every field but the counters, times and end reason.
totals() {
    python3 -c '
import json, sys, collections
t = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = tuple(sorted((k, v) for k, v in r.items() if k not in (
        "packetDeltaCount", "octetDeltaCount", "flowStartMilliseconds", "flowEndMilliseconds",
        "flowEndReason", "tcpControlBits")))
    t[key, "packets"] += r["packetDeltaCount"]
    t[key, "bytes"] += r["octetDeltaCount"]
for k in sorted(t, key=repr):
    print(repr(k), t[k])
' "$1"
}

# run OUT WORKERS RING ARGS...: replays into OUT.jsonl (sorted); prints the exit status.
run() {
    local out=$1 workers=$2 ring=$3 status=0
    shift 3
    "$probe" -r "$capture" -w "$out.raw" --workers "$workers" --ring-size "$ring" "$@" \
        >/dev/null 2>"$out.err" || status=$?
    sort "$out.raw" >"$out.jsonl" 2>/dev/null || : >"$out.jsonl"
    echo "$status"
}

failed=0 checked=0 totals_only=0
for capture in "${captures[@]}"; do
    [[ -f $capture ]] || continue
    name=$(basename "$capture")
    name=${name%.*}
    args=()
    if [[ $capture == "$source_dir"/pcaps/* && -f $source_dir/pcaps/expected/$name.args ]]; then
        read -r -a args <"$source_dir/pcaps/expected/$name.args" || true
    fi
    # The configurations set --workers themselves.
    clean=()
    for ((i = 0; i < ${#args[@]}; i++)); do
        if [[ ${args[i]} == --workers ]]; then
            ((i += 1))
        else
            clean+=("${args[i]}")
        fi
    done
    base_status=$(run "$tmp/base" 1 256 ${clean[@]+"${clean[@]}"})
    base_evicted=$(sed -n 's/^ *evicted, table full (--max-flows) *//p' "$tmp/base.err")
    for config in "${configs[@]}"; do
        read -r workers ring <<<"$config"
        status=$(run "$tmp/other" "$workers" "$ring" ${clean[@]+"${clean[@]}"})
        # A sanitizer report (the TSan stage of .ci/run runs this script) fails the test even
        # when every run reports it alike.
        if grep -qE "ThreadSanitizer|AddressSanitizer|runtime error" "$tmp/base.err" "$tmp/other.err"; then
            echo "FAIL $name: sanitizer report with $workers workers, ring $ring:"
            grep -hE -m 3 "ThreadSanitizer|AddressSanitizer|runtime error" "$tmp/base.err" "$tmp/other.err"
            failed=$((failed + 1))
            continue
        fi
        other_evicted=$(sed -n 's/^ *evicted, table full (--max-flows) *//p' "$tmp/other.err")
        evicted=$((${base_evicted:-0} + ${other_evicted:-0}))
        if [[ $status != "$base_status" ]]; then
            echo "FAIL $name: exit status $status with $workers workers, ring $ring; $base_status with 1"
            failed=$((failed + 1))
            continue
        fi
        if [[ ${evicted:-0} != 0 ]]; then
            if ! diff <(totals "$tmp/base.jsonl") <(totals "$tmp/other.jsonl") >"$tmp/diff"; then
                echo "FAIL $name: per-key totals differ with $workers workers, ring $ring"
                head -5 "$tmp/diff"
                failed=$((failed + 1))
            fi
            continue
        fi
        if ! diff "$tmp/base.jsonl" "$tmp/other.jsonl" >"$tmp/diff"; then
            echo "FAIL $name: records differ with $workers workers, ring $ring (< 1 worker, > other)"
            head -6 "$tmp/diff"
            failed=$((failed + 1))
        fi
    done
    checked=$((checked + 1))
    if [[ ${base_evicted:-0} != 0 ]]; then totals_only=$((totals_only + 1)); fi
done

echo "determinism: $checked captures x ${#configs[@]} configurations against 1 worker;" \
    "$totals_only compared on per-key totals (table full); $failed failed"
[[ $checked -gt 0 && $failed -eq 0 ]]
