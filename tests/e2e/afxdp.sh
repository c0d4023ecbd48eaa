#!/usr/bin/env bash
# AF_XDP capture on veths in network namespaces that this test makes: generic mode on a one-queue
# veth, native mode on a two-queue veth (each queue its own capture thread), tcpreplay of the
# Ethernet test captures, and tshark's per-key totals (flow-oracle) as the judge. Also: the
# zero-copy request falls back to copy and says so; no XDP program is left after SIGTERM or
# SIGINT; a deleted and re-created interface is captured again; a foreign XDP program makes the
# start fail and stays; bad input is one line, exit 2.
# Needs root and a kernel with AF_XDP; skips with its reason elsewhere. Everything it makes is
# removed on every exit path.
#
# Usage: afxdp.sh SPANFLOW SOURCE_DIR [SHARED_DIR]
set -uo pipefail

probe=$1
source_dir=$2
shared=${3:-}
oracle=${shared:+$shared/tools/flow-oracle}

source "$(dirname "$0")/lib.sh"  # quiet_netns, veth_pair, ok, bad, start_probe, stop_probe
skip() {
    echo "SKIP: $*"
    exit 0
}
[[ $(id -u) -eq 0 ]] || skip "AF_XDP tests need root"
for tool in ip tcpreplay tcpdump capinfos tshark mergecap; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done
has_backend "$probe" afxdp || skip "this spanflow has no AF_XDP backend"

namespace_pair "sx$$"
export LC_ALL=C
in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }

# veth QUEUES: (re)makes vA (sender) -> vB (probe) with QUEUES queues each, offloads off, and an
# MTU that fits AF_XDP's 4096-byte frames.
veth() {
    ip -n "$ns_a" link del vA 2>/dev/null
    veth_pair "$ns_a" vA "$ns_b" vB "$1" 3000 || return 1
    ifindex_b=$(in_b cat /sys/class/net/vB/ifindex)
}
veth 1 || skip "cannot create veth pairs here"

# sum NAME LABEL: the LABEL lines of the last report in $work/NAME.err, summed over queues.
sum() { report_sum "$work/$1.err" "$2"; }
no_xdp_left() { ! ip -n "$ns_b" -d link show vB | grep -q 'prog/xdp'; }
# replay CAPTURE: every frame out of vA, paced: sender and probe share this machine's cores.
replay() {
    local out
    out=$(in_a tcpreplay -i vA --pps 20000 "$1" 2>&1) || return 1
    grep -Eq 'Failed packets: +0$' <<<"$out"
}

mapfile -t captures < <(ethernet_captures "$source_dir" "$shared")
[[ -n $oracle && -x $oracle ]] || skip "no flow-oracle (../shared/tools) to judge totals with"

# exact MODE_ARGS...: every capture through one spanflow run per capture; judged by tshark.
exact() {
    local label=$1
    shift
    local cap name served=0 q1=0
    for cap in "${captures[@]}"; do
        name=$(basename "$cap")
        start_probe "$label" -i vB --backend afxdp "$@" -w "$work/$label.jsonl" ||
            { bad "$label $name: start"; stop_probe; continue; }
        replay "$cap" || { stop_probe; continue; }
        sleep 0.3
        stop_probe
        "$oracle" totals "$cap" --ifindex "$ifindex_b" >"$work/oracle.jsonl" 2>/dev/null
        drops=$(( $(sum "$label" "dropped by the kernel \(buffer full\)") +
                  $(sum "$label" "dropped, AF_XDP RX ring full") +
                  $(sum "$label" "dropped, worker ring full") ))
        served=$((served + 1))
        if [[ $probe_status -ne 0 ]]; then
            bad "$label $name: spanflow exited $probe_status: $(tail -2 "$work/$label.err")"
        elif [[ $drops -ne 0 ]]; then
            bad "$label $name: $drops packets dropped"
        elif ! "$oracle" compare "$work/oracle.jsonl" "$work/$label.jsonl" >"$work/cmp.txt" 2>&1; then
            bad "$label $name: totals differ from tshark's: $(head -3 "$work/cmp.txt")"
        else
            ok "$label $name: $(wc -l <"$work/$label.jsonl") flows, tshark's totals, 0 drops"
        fi
        grep -Eq "interface vB/q1" "$work/$label.err" &&
            q1=$((q1 + $(grep -A1 "interface vB/q1" "$work/$label.err" | tail -1 | awk '{print $NF}')))
        no_xdp_left || bad "$label $name: an XDP program is left on vB"
    done
    [[ $served -gt 0 ]] || bad "$label: no capture could be replayed"
    last_q1=$q1
}

echo "== generic mode, one queue"
exact generic --xdp-mode generic
grep -q "generic mode, copy" "$work/generic.err" && ok "generic: the mode in use is said" ||
    bad "generic: mode line: $(grep AF_XDP "$work/generic.err")"

echo "== native mode, two queues: a capture thread per queue"
veth 2 || bad "two-queue veth"
exact native --xdp-mode native --workers 2
[[ $last_q1 -gt 0 ]] && ok "native: queue 1 received $last_q1 packets" ||
    bad "native: queue 1 received nothing"
grep -q "zero-copy refused" "$work/native.err" && ok "native: zero-copy refused, copy mode said" ||
    bad "native: no zero-copy fallback line: $(grep AF_XDP "$work/native.err")"
grep -q "flows gathered by key across queues" "$work/native.err" &&
    ok "native: a veth promises no hash, so flows are gathered by key" ||
    bad "native: topology line: $(grep AF_XDP "$work/native.err")"
echo "== native mode, two queues, each owning its flows (--rss ports)"
exact perqueue --xdp-mode native --rss ports
grep -q "each queue owns its flows" "$work/perqueue.err" && ok "perqueue: per-queue workers" ||
    bad "perqueue: topology line: $(grep AF_XDP "$work/perqueue.err")"

echo "== the interface deleted and re-created: the program attached again, the queues reopened"
cap=$source_dir/pcaps/proto-mix.pcap
mergecap -a -F pcap -w "$work/twice.pcap" "$cap" "$cap"
"$oracle" totals "$work/twice.pcap" --ifindex "$ifindex_b" >"$work/r-oracle.jsonl" 2>/dev/null
start_probe recreate -i vB --backend afxdp --xdp-mode native --workers 2 \
    -w "$work/recreate.jsonl" || bad "recreate: start"
replay "$cap" || bad "recreate: first replay"
sleep 0.3
veth 2 || bad "recreate: the veth again"
if wait_for_line "$work/recreate.err" "vB/q0: capturing again (reopen 1)" "$probe_pid" 5 &&
    wait_for_line "$work/recreate.err" "vB/q1: capturing again (reopen 1)" "$probe_pid" 5; then
    ok "recreate: both queues said they capture again"
else
    bad "recreate: no reopen line: $(grep vB "$work/recreate.err")"
fi
replay "$cap" || bad "recreate: second replay"
sleep 0.3
stop_probe
if [[ $probe_status -eq 0 ]] && no_xdp_left &&
    "$oracle" compare "$work/r-oracle.jsonl" "$work/recreate.jsonl" >"$work/cmp.txt" 2>&1 &&
    [[ $(sum recreate "capture reopened") -eq 2 ]]; then
    ok "recreate: both replays captured exactly, ifIndex of the start kept, 2 reopens counted, no program left"
else
    bad "recreate: exit $probe_status, reopens $(sum recreate "capture reopened"): $(head -3 "$work/cmp.txt")"
fi

echo "== the same filter as libpcap"
fcap=$source_dir/pcaps/proto-mix.pcap
[[ -n $shared && -f $shared/pcaps/ndpi__android.pcap ]] && fcap=$shared/pcaps/ndpi__android.pcap
for filter in "not udp" "tcp or icmp" "udp port 53"; do
    tcpdump -r "$fcap" -w "$work/filtered.pcap" "$filter" 2>/dev/null
    "$oracle" totals "$work/filtered.pcap" --ifindex "$ifindex_b" >"$work/f-oracle.jsonl" 2>/dev/null
    start_probe filter -i vB --backend afxdp -w "$work/filter.jsonl" $filter || bad "filter: start"
    replay "$fcap" || bad "filter: replay"
    sleep 0.3
    stop_probe
    if "$oracle" compare "$work/f-oracle.jsonl" "$work/filter.jsonl" >"$work/cmp.txt" 2>&1; then
        ok "filter '$filter': the keys and totals tcpdump's selection has"
    else
        bad "filter '$filter': $(head -3 "$work/cmp.txt")"
    fi
done

echo "== SIGINT also detaches"
start_probe sigint -i vB --backend afxdp -w "$work/sigint.jsonl" || bad "sigint: start"
ip -n "$ns_b" -d link show vB | grep -q 'prog/xdp' && ok "sigint: attached while running" ||
    bad "sigint: no program attached while running"
stop_probe INT
[[ $probe_status -eq 0 ]] && no_xdp_left && ok "sigint: exit 0, no XDP program left" ||
    bad "sigint: exit $probe_status, program left: $(no_xdp_left && echo no || echo yes)"

echo "== a foreign XDP program: the start is refused, the program stays"
cat >"$work/pass.c" <<'C'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int other_pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
C
if command -v clang >/dev/null &&
    clang -O2 -g -target bpf -I/usr/include/"$(gcc -dumpmachine)" -c "$work/pass.c" \
        -o "$work/pass.o" 2>/dev/null &&
    ip -n "$ns_b" link set dev vB xdpgeneric obj "$work/pass.o" sec xdp 2>/dev/null; then
    in_b "$probe" -i vB --backend afxdp -w "$work/foreign.jsonl" 2>"$work/foreign.err"
    status=$?
    if [[ $status -eq 2 && $(wc -l <"$work/foreign.err") -eq 1 ]] &&
        grep -q "already attached" "$work/foreign.err" &&
        ip -n "$ns_b" -d link show vB | grep -q 'prog/xdp'; then
        ok "foreign: one line, exit 2, the other program still attached"
    else
        bad "foreign: exit $status: $(cat "$work/foreign.err")"
    fi
    ip -n "$ns_b" link set dev vB xdpgeneric off
else
    echo "skip: cannot build or attach a foreign XDP program here"
fi

echo "== bad input: one line, exit 2, nothing left attached"
in_b "$probe" -i lo --backend afxdp --xdp-mode native -w "$work/x.jsonl" 2>"$work/bad1.err"
status=$?
[[ $status -eq 2 && $(wc -l <"$work/bad1.err") -eq 1 ]] && ok "lo, native mode: $(cat "$work/bad1.err")" ||
    bad "lo native: exit $status: $(cat "$work/bad1.err")"
if command -v setpriv >/dev/null; then
    in_b setpriv --reuid=65534 --regid=65534 --clear-groups "$probe" -i vB --backend afxdp \
        -w /dev/null 2>"$work/bad2.err"
    status=$?
    [[ $status -eq 2 && $(wc -l <"$work/bad2.err") -eq 1 ]] && no_xdp_left &&
        ok "no rights: $(cat "$work/bad2.err")" || bad "no rights: exit $status: $(cat "$work/bad2.err")"
fi
in_b "$probe" -i vB --backend afxdp --queues 3 -w /dev/null 2>"$work/bad3.err"
status=$?
[[ $status -eq 2 ]] && no_xdp_left && ok "too many queues: $(cat "$work/bad3.err")" ||
    bad "--queues 3: exit $status: $(cat "$work/bad3.err")"
ip -n "$ns_b" link set vB mtu 9000
in_b "$probe" -i vB --backend afxdp -w /dev/null 2>"$work/bad4.err"
status=$?
[[ $status -eq 2 ]] && no_xdp_left && ok "jumbo MTU: $(cat "$work/bad4.err")" ||
    bad "MTU 9000: exit $status: $(cat "$work/bad4.err")"

echo "afxdp: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
