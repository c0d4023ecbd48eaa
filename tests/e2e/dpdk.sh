#!/usr/bin/env bash
# DPDK capture on virtual devices, without huge pages or a NIC (EAL: --no-huge -m 1024 --no-pci):
#   - net_pcap with two rx_pcap files, a capture split by address pair (one file a queue, as an
#     RSS hash on addresses would spread it): the records' per-key totals equal a replay of the
#     whole capture and tshark's (flow-oracle), for every test capture;
#   - net_af_packet with qpairs=2 on a veth in a network namespace this test makes, tcpreplay of
#     the captures into the other end: tshark's totals, both queues read;
#   - net_null: the loop, the statistics and the shutdown under an endless stream of frames;
#   - a filter keeps the keys tcpdump's selection has;
#   - bad input (no port, EAL arguments it refuses, too many queues): one line, exit 2.
# Needs root; skips with its reason where the machine or the build does not allow it. Everything
# it makes (namespaces, veths, DPDK's runtime folders) is removed on every exit path.
#
# Usage: dpdk.sh SPANFLOW SOURCE_DIR [SHARED_DIR]
set -uo pipefail

probe=$1
source_dir=$2
shared=${3:-}
oracle=${shared:+$shared/tools/flow-oracle}
here=$(cd "$(dirname "$0")" && pwd)

source "$here/lib.sh"  # quiet_netns, veth_pair, ok, bad, start_probe, stop_probe, report_sum
skip() {
    echo "SKIP: $*"
    exit 0
}
[[ $(id -u) -eq 0 ]] || skip "DPDK tests need root"
for tool in ip tcpreplay tcpdump capinfos tshark; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done
has_backend "$probe" dpdk || skip "this spanflow has no DPDK backend"

tag=sd$$
namespace_pair "$tag"
cleanup_paths=(/var/run/dpdk/"$tag"-eal)
export LC_ALL=C
in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }
# MTU 3000: the af_packet device's frames and spanflow's mbufs hold every frame whole.
veth_pair "$ns_a" vA "$ns_b" vB 1 3000 || skip "cannot create veth pairs here"
[[ -n $oracle && -x $oracle ]] || skip "no flow-oracle (../shared/tools) to judge totals with"

# EAL arguments for a run without huge pages or PCI devices, in this test's own runtime folder
# (/var/run/dpdk/PREFIX: one DPDK process at a time uses it).
eal() { echo "--no-huge -m 1024 --no-pci --no-telemetry --file-prefix=$tag-eal $*"; }
# wait_received NAME COUNT: asks spanflow for a report (SIGUSR1) until its queues have received
# COUNT packets, at most 20 s.
wait_received() {
    local _
    for _ in $(seq 100); do
        kill -USR1 "$probe_pid" 2>/dev/null || return 1
        sleep 0.2
        [[ $(report_sum "$work/$1.err" "packets received") -ge $2 ]] && return 0
    done
    return 1
}
packets_in() { capinfos -c -M "$1" | awk '/Number of packets/ {print $NF}'; }
# same_totals A.jsonl B.jsonl: packets, bytes and TCP flags per flow key agree (times and ifIndex
# aside: one is a replay).
same_totals() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
def totals(path):
    out = {}
    for line in open(path):
        r = json.loads(line)
        key = tuple(r.get(k) for k in ("sourceIPv4Address", "destinationIPv4Address",
                    "sourceIPv6Address", "destinationIPv6Address", "protocolIdentifier",
                    "sourceTransportPort", "destinationTransportPort", "ipClassOfService"))
        t = out.setdefault(key, [0, 0, 0])
        t[0] += r["packetDeltaCount"]; t[1] += r["octetDeltaCount"]; t[2] |= r["tcpControlBits"]
    return out
a, b = totals(sys.argv[1]), totals(sys.argv[2])
diff = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
for k in diff[:3]:
    print("key", k, "first", a.get(k), "second", b.get(k))
sys.exit(1 if diff else 0)
PY
}

mapfile -t captures < <(ethernet_captures "$source_dir" "$shared")
[[ ${#captures[@]} -gt 0 ]] || skip "no Ethernet test captures"

echo "== net_pcap, two queues: a capture split by address pair, one file a queue"
q1_total=0
served=0
for cap in "${captures[@]}"; do
    name=$(basename "$cap")
    # net_pcap reads classic pcap; a pcapng capture is rewritten first.
    editcap -F pcap "$cap" "$work/whole.pcap" 2>/dev/null || continue
    /usr/bin/python3 "$here/split-by-address.py" "$work/whole.pcap" 2 "$work/part" ||
        { bad "pcap $name: split"; continue; }
    total=$(packets_in "$work/whole.pcap")
    start_probe pcap --backend dpdk -w "$work/pcap.jsonl" \
        --dpdk-args "$(eal --vdev net_pcap0,rx_pcap="$work/part0.pcap",rx_pcap="$work/part1.pcap")" ||
        { bad "pcap $name: start"; stop_probe; continue; }
    wait_received pcap "$total" || bad "pcap $name: $(report_sum "$work/pcap.err" "packets received") of $total packets received"
    stop_probe
    served=$((served + 1))
    "$probe" -r "$work/whole.pcap" -w "$work/replay.jsonl" 2>/dev/null
    "$oracle" totals "$work/whole.pcap" >"$work/oracle.jsonl" 2>/dev/null
    drops=$(report_sum "$work/pcap.err" "dropped, worker ring full")
    if [[ $probe_status -ne 0 ]]; then
        bad "pcap $name: spanflow exited $probe_status: $(tail -2 "$work/pcap.err")"
    elif [[ $drops -ne 0 ]]; then
        bad "pcap $name: $drops packets dropped"
    elif ! same_totals "$work/replay.jsonl" "$work/pcap.jsonl" >"$work/cmp.txt"; then
        bad "pcap $name: totals differ from a replay: $(head -3 "$work/cmp.txt")"
    elif ! "$oracle" compare "$work/oracle.jsonl" "$work/pcap.jsonl" --ignore-ifindex \
        >"$work/cmp.txt" 2>&1; then
        bad "pcap $name: totals differ from tshark's: $(head -3 "$work/cmp.txt")"
    else
        ok "pcap $name: $(wc -l <"$work/pcap.jsonl") flows, a replay's and tshark's totals"
    fi
    q1_total=$((q1_total + $(grep -A1 "interface net_pcap0/q1" "$work/pcap.err" | tail -1 | awk '{print $NF}')))
done
[[ $served -gt 0 ]] || bad "pcap: no capture could be read"
[[ $q1_total -gt 0 ]] && ok "pcap: queue 1 received $q1_total packets in all" || bad "pcap: queue 1 received nothing"
grep -q "flows gathered by key across queues" "$work/pcap.err" &&
    ok "pcap: a device without RSS gathers flows by key" ||
    bad "pcap: topology line: $(grep DPDK "$work/pcap.err")"

echo "== net_af_packet, two queues on a veth (the kernel's fanout hash spreads them)"
ifindex_b=$(in_b cat /sys/class/net/vB/ifindex)
af_vdev="net_af_packet0,iface=vB,qpairs=2,framecnt=4096"
q1_total=0
fragments=0
for cap in "${captures[@]}"; do
    name=$(basename "$cap")
    # The device's fanout (PACKET_FANOUT_FLAG_DEFRAG) has the kernel reassemble IP fragments
    # before spanflow sees them: a capture with fragments cannot match tshark's per-packet count.
    if [[ -n $(tshark -r "$cap" -Y "ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fragment" \
        -T fields -e frame.number 2>/dev/null | head -1) ]]; then
        fragments=$((fragments + 1))
        continue
    fi
    total=$(packets_in "$cap")
    start_probe afp --backend dpdk -w "$work/afp.jsonl" --dpdk-args "$(eal --vdev "$af_vdev")" ||
        { bad "af_packet $name: start"; stop_probe; continue; }
    out=$(in_a tcpreplay -i vA --pps 20000 "$cap" 2>&1)
    grep -Eq 'Failed packets: +0$' <<<"$out" || { stop_probe; continue; }
    wait_received afp "$total" || bad "af_packet $name: $(report_sum "$work/afp.err" "packets received") of $total packets received"
    stop_probe
    "$oracle" totals "$cap" >"$work/oracle.jsonl" 2>/dev/null
    if [[ $probe_status -ne 0 ]]; then
        bad "af_packet $name: spanflow exited $probe_status: $(tail -2 "$work/afp.err")"
    elif ! "$oracle" compare "$work/oracle.jsonl" "$work/afp.jsonl" --ignore-ifindex \
        >"$work/cmp.txt" 2>&1; then
        bad "af_packet $name: totals differ from tshark's: $(head -3 "$work/cmp.txt")"
    else
        ok "af_packet $name: $(wc -l <"$work/afp.jsonl") flows, tshark's totals"
    fi
    q1_total=$((q1_total + $(grep -A1 "interface net_af_packet0/q1" "$work/afp.err" | tail -1 | awk '{print $NF}')))
done
[[ $q1_total -gt 0 ]] && ok "af_packet: queue 1 received $q1_total packets in all" ||
    bad "af_packet: queue 1 received nothing"
echo "(af_packet: $fragments captures with IP fragments left out: the device reassembles them)"

echo "== net_null: the loop, its counters and the shutdown under an endless stream"
start_probe null --backend dpdk -w "$work/null.jsonl" --dpdk-args "$(eal --vdev net_null0)" ||
    bad "null: start"
sleep 1
started=$(date +%s)
stop_probe
took=$(($(date +%s) - started))
received=$(report_sum "$work/null.err" "packets received")
rejected=$(report_sum "$work/null.err" "rejected")
if [[ $probe_status -eq 0 && $received -gt 0 && $rejected -eq $received && $took -le 5 ]]; then
    ok "null: exit 0 in ${took}s, $received frames received, each rejected (not IP)"
else
    bad "null: exit $probe_status in ${took}s, $received received, $rejected rejected: $(tail -3 "$work/null.err")"
fi

echo "== a filter keeps what tcpdump keeps"
fcap=$source_dir/pcaps/proto-mix.pcap
[[ -n $shared && -f $shared/pcaps/ndpi__android.pcap ]] && fcap=$shared/pcaps/ndpi__android.pcap
editcap -F pcap "$fcap" "$work/fwhole.pcap" 2>/dev/null
for filter in "not udp" "tcp or icmp" "udp port 53"; do
    tcpdump -r "$work/fwhole.pcap" -w "$work/filtered.pcap" "$filter" 2>/dev/null
    "$oracle" totals "$work/filtered.pcap" >"$work/f-oracle.jsonl" 2>/dev/null
    start_probe filter --backend dpdk -w "$work/filter.jsonl" \
        --dpdk-args "$(eal --vdev net_pcap0,rx_pcap="$work/fwhole.pcap")" $filter ||
        bad "filter: start"
    wait_received filter "$(packets_in "$work/fwhole.pcap")" || bad "filter '$filter': not every packet received"
    stop_probe
    if "$oracle" compare "$work/f-oracle.jsonl" "$work/filter.jsonl" --ignore-ifindex >"$work/cmp.txt" 2>&1; then
        ok "filter '$filter': the keys and totals tcpdump's selection has"
    else
        bad "filter '$filter': $(head -3 "$work/cmp.txt")"
    fi
done

echo "== bad input: one line, exit 2"
# refused ARGS...: spanflow with ARGS must exit 2 with one line on standard error.
refused() {
    local label=$1
    shift
    in_b "$probe" "$@" -w "$work/bad.jsonl" >"$work/bad.out" 2>"$work/bad.err"
    local status=$?
    if [[ $status -eq 2 && $(wc -l <"$work/bad.err") -eq 1 && ! -s $work/bad.out ]]; then
        ok "$label: $(cat "$work/bad.err")"
    else
        bad "$label: exit $status: $(head -5 "$work/bad.err")"
    fi
}
refused "no port" --backend dpdk --dpdk-args "$(eal)"
refused "refused EAL arguments" --backend dpdk --dpdk-args "--no-huge --bogus-option"
refused "a vdev that fails" --backend dpdk --dpdk-args "$(eal --vdev net_pcap0,rx_pcap=$work/none.pcap)"
refused "too many queues" --backend dpdk --queues 3 \
    --dpdk-args "$(eal --vdev net_pcap0,rx_pcap="$work/part0.pcap",rx_pcap="$work/part1.pcap")"
refused "-i with dpdk" --backend dpdk -i vB

echo "dpdk: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
