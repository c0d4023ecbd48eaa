#!/usr/bin/env bash
# Wrong options and unreadable input: one line on stderr naming the option or file and what is
# allowed, exit status 2; --help and --version exit 0.
# Usage: cli-errors.sh SPANFLOW SPANFLOW_COLLECT SOURCE_DIR
set -uo pipefail
spanflow=$1
collect=$2
source_dir=$3
pass=0
fail=0

# expect STATUS SUBSTRING COMMAND...: the command exits STATUS and its stderr's only line
# contains SUBSTRING.
expect() {
    local want=$1 text=$2
    shift 2
    local err status
    err=$("$@" 2>&1 >/dev/null)
    status=$?
    if [ "$status" -ne "$want" ]; then
        echo "FAIL '$*': exit $status, want $want: $err"; fail=$((fail + 1)); return
    fi
    if [ "$want" -ne 0 ] && { [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ] || [[ "$err" != *"$text"* ]]; }; then
        echo "FAIL '$*': stderr is not one line containing '$text': $err"; fail=$((fail + 1)); return
    fi
    echo "ok   '$*'"; pass=$((pass + 1))
}

capture=$source_dir/pcaps/link-ethernet.pcap
expect 0 "" "$spanflow" --help
expect 0 "" "$spanflow" --version
expect 2 "--max-flows: 'many' is not allowed" "$spanflow" -r "$capture" -w - -m many
expect 2 "--inactive-timeout: '0' is not allowed" "$spanflow" -r "$capture" -w - --inactive-timeout 0
expect 2 "--collector: 'nowhere' is not allowed" "$spanflow" -r "$capture" -n nowhere
expect 2 "--export-version: '8' is not allowed" "$spanflow" -r "$capture" -n 127.0.0.1:9 -v 8
expect 2 "--frobnicate" "$spanflow" --frobnicate
expect 2 "/nonexistent.pcap: cannot read capture" "$spanflow" -r /nonexistent.pcap -w -
expect 2 "unsupported link type" "$spanflow" -r "$source_dir/pcaps/error-linktype.pcap" -w -
expect 2 "cannot write /nonexistent/dir/out.jsonl" "$spanflow" -r "$capture" -w /nonexistent/dir/out.jsonl
# A cache or rings larger than the machine are refused before anything is allocated: 1024
# workers with 65536-slot rings need 196 GiB of rings, 2^30 flows 142 GiB of tables. Checked
# where the machine has less than that (elsewhere the probe would really allocate them).
mem_gib=$(awk '/^MemTotal:/ { print int($2 / 1048576) }' /proc/meminfo)
if [ "$mem_gib" -lt 140 ]; then
    expect 2 "--workers 1024 and --ring-size 65536 need 196.4 GiB (flow tables 0.2, rings 196.2): more than this machine's" \
        "$spanflow" -r "$capture" -w - --workers 1024 --ring-size 65536
    expect 2 "--max-flows 1073741824 with --workers 1 and --ring-size 256 need 142.0 GiB" \
        "$spanflow" -r "$capture" -w - -m 1073741824 --workers 1
else
    echo "skip the memory checks: this machine has $mem_gib GiB"
fi
# A thread the system refuses (here: no address space left for the next thread's stack) is one
# line and exit status 1, not an abort; the threads already started are ended first. Not under
# AddressSanitizer, which cannot run in so small an address space.
if ! ldd "$spanflow" 2>/dev/null | grep -q libasan; then
    expect 1 "cannot start thread sf-worker-" bash -c 'ulimit -v 262144 && exec "$0" "$@"' \
        "$spanflow" -r "$capture" -w - --workers 256 --ring-size 1 -m 1024
fi

# Backends: each one's options are refused with the others.
expect 2 "--backend: 'netmap' is not allowed; give pcap, afxdp or dpdk" "$spanflow" -i lo -w - --backend netmap
expect 2 "--queues: not allowed with --backend pcap" "$spanflow" -i lo -w - --queues 2
expect 2 "--dpdk-args: not allowed with --backend pcap" "$spanflow" -i lo -w - --dpdk-args "-l 0"
expect 2 "--descriptors: not allowed with --backend pcap" "$spanflow" -i lo -w - --descriptors 1024
if ! "$spanflow" --backend dpdk -w - --queues x 2>&1 | grep -q "not in this build"; then
    expect 2 "--read: not allowed with --backend dpdk" "$spanflow" --backend dpdk -r "$capture" -w -
    expect 2 "--snaplen: not allowed with --backend dpdk" "$spanflow" --backend dpdk -w - --snaplen 100
    expect 2 "--xdp-mode: not allowed with --backend dpdk" "$spanflow" --backend dpdk -w - --xdp-mode native
    expect 2 "--interface: not allowed with --backend dpdk" "$spanflow" --backend dpdk -i lo -w -
    expect 2 "--queues: '0' is not allowed" "$spanflow" --backend dpdk -w - --queues 0
    expect 2 "--descriptors: '65536' is not allowed; give a whole number from 64 to 32768" \
        "$spanflow" --backend dpdk -w - --descriptors 65536
fi
if ! "$spanflow" --backend afxdp -i lo -w - --queues x 2>&1 | grep -q "not in this build"; then
    expect 2 "--dpdk-args: not allowed with --backend afxdp" "$spanflow" --backend afxdp -i lo -w - --dpdk-args "-l 0"
    expect 2 "--descriptors: '1000' is not allowed with --backend afxdp; give a power of two" \
        "$spanflow" --backend afxdp -i lo -w - --descriptors 1000
fi

expect 0 "" "$collect" --help
expect 0 "" "$collect" --version
expect 2 "--listen" "$collect" -l nowhere
expect 2 "--listen" "$collect"
expect 2 "--idle-exit" "$collect" -l 127.0.0.1:0 --idle-exit -3
expect 2 "--format: 'xml' is not allowed" "$collect" -l 127.0.0.1:0 --format xml
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
