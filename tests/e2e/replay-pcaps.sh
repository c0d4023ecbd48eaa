#!/usr/bin/env bash
# Replays every capture in pcaps/ that has expectations (pcaps/expected/NAME.jsonl, made by
# pcaps/make-pcaps from its own model of each scenario) through spanflow twice:
#   file path:    spanflow -r CAPTURE -w OUT.jsonl [args]          -> must equal NAME.jsonl
#   network path: spanflow -r CAPTURE -n 127.0.0.1:PORT -v 5 [args] -> spanflow-collect, which must
#                 write NAME.jsonl less its IPv6 flows and the fields v5 cannot carry
# Both sides are sorted, so export order never matters. Extra options come from NAME.args; a
# capture that must fail has its exit status in NAME.status and an error substring in NAME.error.
#
# Each collector exits after 2 s without datagrams. The probes run one after another, and the
# collectors are only waited for at the end, so their idle seconds overlap.
#
# Usage: replay-pcaps.sh BUILD_DIR SOURCE_DIR        (as ctest runs it)
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
    exit 2
fi
build_dir=$1
source_dir=$2
probe=$build_dir/probe/app/spanflow
collector=$build_dir/export/collector/spanflow-collect
pcaps=$source_dir/pcaps
expected=$pcaps/expected

collector_start_s=10  # how long spanflow-collect may take to print its port
collector_exit_s=30   # how long the collectors may take, all together, to exit after the last probe
# A collector exits this long after its last datagram (or its start, for captures that export
# nothing): long enough that a probe slowed by a loaded machine or a sanitizer is never late.
collector_idle_s=5

for bin in "$probe" "$collector"; do
    if [[ ! -x $bin ]]; then
        echo "replay-pcaps: $bin not found or not executable" >&2
        exit 1
    fi
done

tmp=$(mktemp -d)
declare -A collector_pid=()  # capture name -> PID of its spanflow-collect, until it is reaped
cleanup() {
    local pid
    for pid in "${collector_pid[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export LC_ALL=C

# problem NAME TEXT...: note why capture NAME fails (one line each; more lines are indented).
problem() {
    local name=$1 line
    shift
    for line in "$@"; do
        [[ -n $line ]] && printf '%s\n' "$line" >> "$tmp/$name/problems"
    done
    return 0
}

# tail_of FILE: the last lines of a log, indented, for a problem report.
tail_of() {
    tail -n 5 "$1" | sed 's/^/    /'
}

# check_run NAME WHAT STATUS STDERR_FILE: an exit status and error text against the expectations.
check_run() {
    local name=$1 what=$2 status=$3 errfile=$4
    if [[ $status -ne ${want_status[$name]} ]]; then
        problem "$name" "$what: exit status $status, expected ${want_status[$name]}" "$(tail_of "$errfile")"
    elif [[ -n ${want_error[$name]} ]] && ! grep -qF -- "${want_error[$name]}" "$errfile"; then
        problem "$name" "$what: stderr lacks \"${want_error[$name]}\"" "$(tail_of "$errfile")"
    fi
}

# check_flows NAME WHAT GOT WANT: sorted flows against the expected ones.
check_flows() {
    local name=$1 what=$2 got=$3 want=$4
    if [[ -f $got ]]; then sort "$got" > "$tmp/got.sorted"; else : > "$tmp/got.sorted"; fi
    sort "$want" > "$tmp/want.sorted"
    if ! diff -u --label expected --label "$what" "$tmp/want.sorted" "$tmp/got.sorted" > "$tmp/diff"; then
        problem "$name" "$what: flows differ (- expected, + got)" "$(head -n 40 "$tmp/diff" | sed 's/^/    /')"
    fi
}

# v5_view FILE: the flows NetFlow v5 can carry: IPv4 only, without flowEndReason, VLAN and MACs.
v5_view() {
    { grep -v '"sourceIPv6Address"' "$1" || true; } |
        sed -E 's/,"(flowEndReason|vlanId)":[0-9]+//g; s/,"(source|destination)MacAddress":"[^"]*"//g'
}

declare -A want_status=() want_error=() port_of=()
names=()
shopt -s nullglob
for capture in "$pcaps"/*.pcap "$pcaps"/*.pcapng; do
    base=${capture##*/}
    name=${base%.*}
    [[ -f $expected/$name.jsonl ]] || continue
    names+=("$name")
    work=$tmp/$name
    mkdir -p "$work"
    : > "$work/problems"

    args=()
    if [[ -f $expected/$name.args ]]; then read -r -a args < "$expected/$name.args" || true; fi
    want_status[$name]=0
    if [[ -f $expected/$name.status ]]; then want_status[$name]=$(tr -d ' \n' < "$expected/$name.status"); fi
    want_error[$name]=""
    if [[ -f $expected/$name.error ]]; then want_error[$name]=$(head -n 1 "$expected/$name.error"); fi

    # (a) the file path
    status=0
    "$probe" -r "$capture" -w "$work/out.jsonl" "${args[@]}" > "$work/probe.out" 2> "$work/probe.err" || status=$?
    check_run "$name" "spanflow -w" "$status" "$work/probe.err"
    check_flows "$name" "spanflow -w" "$work/out.jsonl" "$expected/$name.jsonl"

    # (b) the network path: NetFlow v5 to spanflow-collect; its output is checked once it exits
    : > "$work/coll.err"  # exists before the background job opens it, for the polling below
    "$collector" -l 127.0.0.1:0 -w "$work/coll.jsonl" --idle-exit "$collector_idle_s" > "$work/coll.out" 2> "$work/coll.err" &
    collector_pid[$name]=$!
    port=""
    for ((i = 0; i < collector_start_s * 10; i++)); do
        port=$(sed -n 's/^spanflow-collect: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/coll.err" |
            head -n 1 || true)
        [[ -n $port ]] && break
        kill -0 "${collector_pid[$name]}" 2>/dev/null || break
        sleep 0.1
    done
    port_of[$name]=$port
    if [[ -z $port ]]; then
        problem "$name" "spanflow-collect printed no port within ${collector_start_s} s" "$(tail_of "$work/coll.err")"
        continue
    fi
    status=0
    "$probe" -r "$capture" -n "127.0.0.1:$port" -v 5 "${args[@]}" > "$work/probe-v5.out" \
        2> "$work/probe-v5.err" || status=$?
    check_run "$name" "spanflow -n -v 5" "$status" "$work/probe-v5.err"
done

deadline=$((SECONDS + collector_exit_s))
passed=0
failed=0
for name in "${names[@]}"; do
    work=$tmp/$name
    pid=${collector_pid[$name]}
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.1
    done
    hung=0
    if kill -0 "$pid" 2>/dev/null; then
        problem "$name" "spanflow-collect did not exit (--idle-exit $collector_idle_s) within ${collector_exit_s} s: killed"
        kill "$pid" 2>/dev/null || true
        hung=1
    fi
    cstatus=0
    wait "$pid" || cstatus=$?
    unset "collector_pid[$name]"
    if [[ -n ${port_of[$name]} ]]; then
        if [[ $cstatus -ne 0 && $hung -eq 0 ]]; then
            problem "$name" "spanflow-collect: exit status $cstatus" "$(tail_of "$work/coll.err")"
        fi
        v5_view "$expected/$name.jsonl" > "$work/want-v5.jsonl"
        check_flows "$name" "spanflow-collect (v5)" "$work/coll.jsonl" "$work/want-v5.jsonl"
    fi

    if [[ ! -s $work/problems ]]; then
        echo "ok $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        sed 's/^/  /' "$work/problems"
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
if [[ $failed -ne 0 || $passed -eq 0 ]]; then
    exit 1
fi
