#!/usr/bin/env bash
# Live capture on real interfaces: two network namespaces joined by veth pairs that this test
# makes (IPv6 and offloads off, one queue), captures replayed into one end with tcpreplay, and
# spanflow -i on the other. Needs root (namespaces, raw sockets); skips with its reason where the
# machine does not allow it. Every namespace, interface and process it makes is removed on every
# exit path. Traffic stays inside the namespaces; the test hosts' addresses are 198.18.0.1 and
# 198.18.0.2 (RFC 2544's benchmarking range) on the test's own veth, and collectors listen on
# loopback or on those addresses.
#
# Usage: live.sh SPANFLOW SPANFLOW_COLLECT SOURCE_DIR [SHARED_DIR]
set -uo pipefail

probe=$1
collect=$2
source_dir=$3
shared=${4:-}
oracle=${shared:+$shared/tools/flow-oracle}

source "$(dirname "$0")/lib.sh"  # quiet_netns, veth_pair, ok, bad, start_probe, stop_probe
skip() {
    echo "SKIP: $*"
    exit 0
}
[[ $(id -u) -eq 0 ]] || skip "live capture tests need root (network namespaces, raw sockets)"
for tool in ip tcpreplay tcpdump capinfos; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done

namespace_pair "sf$$"  # $ns_a: the sender, and collectors reached through the captured interface
export LC_ALL=C
in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }
# veth NAME_A NAME_B: a pair from the sender's namespace to the probe's.
veth() { veth_pair "$ns_a" "$1" "$ns_b" "$2"; }
veth vA vB || skip "cannot create veth pairs here"
# The kernel ifindex of vB now: a re-created vB gets a new one.
ifindex_of_vb() { in_b cat /sys/class/net/vB/ifindex; }
ifindex_b=$(ifindex_of_vb)

# stop_collector PID: SIGTERM to a spanflow-collect (it writes what it has and its summary).
stop_collector() {
    sleep 0.5  # the last datagrams are in its socket by now
    kill -TERM "$1" 2>/dev/null
    wait "$1"
}
# report_value NAME LABEL: the number on the report line of $work/NAME.err that starts with LABEL
# (the last report printed).
report_value() {
    grep -E "^ +$2 +[0-9]+$" "$work/$1.err" | tail -1 | awk '{print $NF}'
}
# replay CAPTURE [TCPREPLAY ARGS]: sends every packet of CAPTURE out of vA; false when tcpreplay
# could not send them all (a frame the veth refuses).
replay() {
    local capture=$1
    shift
    local out
    out=$(in_a tcpreplay -i vA "$@" "$capture" 2>&1) || return 1
    grep -Eq 'Failed packets: +0$' <<<"$out"
}
# totals CAPTURE IFINDEX: per-key totals of CAPTURE, by tshark (flow-oracle) where the shared
# tools are present, else by this test's expectation files are not available: no oracle.
totals() {
    "$oracle" totals "$1" --ifindex "$2" 2>/dev/null
}
# double ORACLE: the totals of two replays of the same capture.
double() {
    /usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    r["packetDeltaCount"] *= 2
    r["octetDeltaCount"] *= 2
    print(json.dumps(r))' "$1"
}
settle() { sleep 0.5; }

# The captures that go out of an Ethernet veth as they are: link type Ethernet, not the test
# captures of damage.
captures=()
add_captures() {
    local f
    for f in "$@"; do
        [[ -f $f ]] || continue
        [[ $(basename "$f") == error-* ]] && continue
        capinfos -E "$f" 2>/dev/null | grep -q 'Ethernet$' || continue
        capinfos -M "$f" >/dev/null 2>&1 || continue
        # A record cut by the capture's snaplen goes out as a shorter frame: what crosses the
        # wire is not what the file says, so the file's totals cannot be the judge.
        tshark -r "$f" -T fields -e frame.len -e frame.cap_len 2>/dev/null |
            awk '$1 != $2 { cut = 1 } END { exit !cut }' && continue
        captures+=("$f")
    done
}
add_captures "$source_dir"/pcaps/*.pcap "$source_dir"/pcaps/*.pcapng
[[ -n $shared && -d $shared/pcaps ]] && add_captures "$shared"/pcaps/*.pcap "$shared"/pcaps/*.pcapng
have_oracle=0
[[ -n $oracle && -x $oracle ]] && have_oracle=1

echo "== exact totals: every Ethernet capture replayed at top speed into vB"
if [[ $have_oracle -eq 0 ]]; then
    echo "skip: no flow-oracle (../shared/tools) to compare with"
else
    unsent=0
    for capture in "${captures[@]}"; do
        name=$(basename "$capture")
        start_probe exact -i vB -w "$work/exact.jsonl" || { bad "$name: start"; stop_probe; continue; }
        if ! replay "$capture" --topspeed; then
            stop_probe
            unsent=$((unsent + 1))
            continue
        fi
        settle
        stop_probe
        drops=$(( $(report_value exact "dropped by the kernel \(buffer full\)") +
                  $(report_value exact "dropped, worker ring full") ))
        totals "$capture" "$ifindex_b" >"$work/oracle.jsonl"
        if [[ $probe_status -ne 0 ]]; then
            bad "$name: spanflow exited $probe_status"
        elif [[ -z $drops ]]; then
            bad "$name: no report: $(tail -3 "$work/exact.err")"
        elif [[ $drops -ne 0 ]]; then
            bad "$name: $drops packets dropped"
        elif ! "$oracle" compare "$work/oracle.jsonl" "$work/exact.jsonl" >"$work/cmp.txt" 2>&1; then
            bad "$name: totals differ from tshark's: $(head -5 "$work/cmp.txt")"
        else
            ok "$name: $(wc -l <"$work/exact.jsonl") flows, tshark's totals, 0 drops"
        fi
    done
    echo "($unsent captures have frames a veth cannot send, and were left out)"
fi

quiet=$source_dir/pcaps/proto-mix.pcap
echo "== a quiet link: paced packets all arrive, an idle flow ends on the wall clock"
start_probe quiet -i vB -w "$work/quiet.jsonl" --inactive-timeout 2 --tcp-end-timeout 2 ||
    bad "quiet: start"
replay "$quiet" --pps 20 || bad "quiet: replay"
sent_at=$(date +%s.%N)
# The last flow must be in the file within the inactive timeout + 1 s of its last packet,
# while nothing arrives.
want=$(capinfos -c -M "$quiet" | awk '/Number of packets/ {print $NF}')
got_at=""
for _ in $(seq 60); do
    n=$(/usr/bin/python3 -c '
import json, sys
print(sum(json.loads(l)["packetDeltaCount"] for l in open(sys.argv[1])))' "$work/quiet.jsonl" 2>/dev/null || echo 0)
    if [[ $n -eq $want ]]; then got_at=$(date +%s.%N); break; fi
    sleep 0.1
done
if [[ -z $got_at ]]; then
    bad "quiet: $n of $want packets in flows after 6 s"
else
    late=$(/usr/bin/python3 -c "print(f'{$got_at - $sent_at:.2f}')")
    if /usr/bin/python3 -c "import sys; sys.exit(0 if $late <= 3.0 else 1)" &&
        grep -q '"flowEndReason":1' "$work/quiet.jsonl"; then
        ok "quiet: $want of $want packets; the last flow out ${late}s after its packet (idle 2 s)"
    else
        bad "quiet: the last flow came ${late}s after its packet (want <= 3 s, reason 1)"
    fi
fi
stop_probe

echo "== signals: SIGUSR1 reports and goes on; SIGHUP reopens -w; SIGTERM loses nothing"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ip netns exec "$ns_b" "$collect" -l 127.0.0.1:"$port" -w "$work/collected.jsonl" --idle-exit 60 \
    2>"$work/collect.err" &
collect_pid=$!
sleep 0.3
big=$source_dir/pcaps/table-full.pcap
[[ -n $shared && -f $shared/pcaps/ndpi__gnutella.pcap ]] && big=$shared/pcaps/ndpi__gnutella.pcap
start_probe signals -i vB -n 127.0.0.1:"$port" -w "$work/hup.jsonl" --inactive-timeout 1 \
    --tcp-end-timeout 1 || bad "signals: start"
replay "$quiet" --topspeed
sleep 1.5  # the quiet capture's flows end and are written before the rename
kill -USR1 "$probe_pid"
sleep 0.3
if kill -0 "$probe_pid" 2>/dev/null && grep -q "(running" "$work/signals.err"; then
    ok "SIGUSR1: the report is printed and spanflow goes on"
else
    bad "SIGUSR1: $(tail -3 "$work/signals.err")"
fi
mv "$work/hup.jsonl" "$work/hup.jsonl.1"
kill -HUP "$probe_pid"
ip netns exec "$ns_a" tcpreplay -i vA --pps 2000 "$big" >/dev/null 2>&1 &
replay_pid=$!
sleep 1
stop_probe  # mid-stream
kill "$replay_pid" 2>/dev/null
wait "$replay_pid" 2>/dev/null
stop_collector "$collect_pid"
exported=$(report_value signals "IPFIX records exported")
written=$(report_value signals "JSON records written")
collected=$(wc -l <"$work/collected.jsonl")
lines=$(( $(wc -l <"$work/hup.jsonl.1") + $(cat "$work/hup.jsonl" 2>/dev/null | wc -l) ))
if [[ $probe_status -eq 0 && $exported -gt 0 && $collected -eq $exported ]] &&
    grep -q " 0 lost records" "$work/collect.err"; then
    ok "SIGTERM mid-stream: exit 0, spanflow-collect got all $exported flows the report counts"
else
    bad "SIGTERM: exit $probe_status, report $exported, collected $collected: $(cat "$work/collect.err")"
fi
if [[ -s $work/hup.jsonl && -s $work/hup.jsonl.1 && $lines -eq $written ]] &&
    grep -q "file reopened (SIGHUP) *1$" "$work/signals.err"; then
    ok "SIGHUP: a new -w file after the rename; $lines lines in the two = $written written"
else
    bad "SIGHUP: $lines lines in the files, $written written: $(tail -3 "$work/signals.err")"
fi

if [[ $have_oracle -eq 1 ]]; then
    flap=$source_dir/pcaps/proto-mix.pcap
    # flap_oracle IFINDEX: the totals of two replays of $flap on that ifIndex.
    flap_oracle() {
        totals "$flap" "$1" >"$work/flap-oracle1.jsonl"
        double "$work/flap-oracle1.jsonl" >"$work/flap-oracle.jsonl"
    }
    flap_oracle "$ifindex_b"
    echo "== the interface down and up, and deleted and re-created (also down first), between two replays"
    start_probe flap -i vB -w "$work/flap.jsonl" || bad "flap: start"
    replay "$flap" --topspeed
    in_b ip link set vB down
    sleep 0.5
    in_b ip link set vB up
    sleep 0.3
    replay "$flap" --topspeed
    settle
    stop_probe
    if "$oracle" compare "$work/flap-oracle.jsonl" "$work/flap.jsonl" >"$work/cmp.txt" 2>&1 &&
        [[ $(report_value flap "capture reopened") -eq 0 ]]; then
        ok "down/up: both replays captured exactly, no reopen needed"
    else
        bad "down/up: $(head -3 "$work/cmp.txt") $(tail -4 "$work/flap.err")"
    fi

    for user in root nobody; do
        ifindex_b=$(ifindex_of_vb)  # the flows keep this one after vB is re-created
        flap_oracle "$ifindex_b"
        args=(-i vB -w "$work/re-$user.jsonl")
        [[ $user == nobody ]] && args+=(--user nobody)
        start_probe "re-$user" "${args[@]}" || bad "re-create as $user: start"
        if [[ $user == nobody ]]; then
            uid=$(awk '/^Uid:/ {print $2}' "/proc/$probe_pid/status")
            if [[ $uid -eq 65534 ]]; then ok "--user nobody: runs as uid 65534"; else bad "--user nobody: uid $uid"; fi
        fi
        replay "$flap" --topspeed
        settle
        # As nobody, the interface is first taken down (the socket's one error comes then), then
        # deleted: only its changed kernel ifindex can tell.
        if [[ $user == nobody ]]; then in_b ip link set vB down; sleep 0.3; fi
        ip -n "$ns_b" link del vB
        veth vA vB  # at once: the same name, a new kernel ifindex
        wait_for_line "$work/re-$user.err" "capturing again" "$probe_pid" 6 ||
            bad "deleted and re-created ($user): no reopen within 6 s"
        replay "$flap" --topspeed
        settle
        stop_probe
        if "$oracle" compare "$work/flap-oracle.jsonl" "$work/re-$user.jsonl" >"$work/cmp.txt" 2>&1 &&
            [[ $(report_value "re-$user" "capture reopened") -eq 1 ]]; then
            ok "deleted and re-created ($user): one reopen, the same ifIndex $ifindex_b, packets after it captured"
        else
            bad "deleted and re-created ($user): $(head -3 "$work/cmp.txt") $(tail -6 "$work/re-$user.err")"
        fi
    done

    ifindex_b=$(ifindex_of_vb)
    echo "== capture filters keep exactly what tcpdump's libpcap keeps, live and in a replay"
    filtered_capture=$source_dir/pcaps/proto-mix.pcap
    [[ -n $shared && -f $shared/pcaps/ndpi__android.pcap ]] && filtered_capture=$shared/pcaps/ndpi__android.pcap
    vlan_capture=$source_dir/pcaps/encap-vlan.pcap
    for case in "$filtered_capture|not udp" "$filtered_capture|tcp or icmp" \
        "$filtered_capture|udp port 53" "$vlan_capture|vlan 100" "$vlan_capture|vlan and udp"; do
        filtered_capture=${case%%|*}
        filter=${case#*|}
        tcpdump -r "$filtered_capture" -w "$work/filtered.pcap" "$filter" 2>/dev/null
        totals "$work/filtered.pcap" "$ifindex_b" >"$work/f-oracle.jsonl"
        start_probe filter -i vB -w "$work/filter.jsonl" $filter || bad "filter: start"
        replay "$filtered_capture" --topspeed
        settle
        stop_probe
        "$probe" -r "$filtered_capture" --ifindex "$ifindex_b" -w "$work/filter-r.jsonl" $filter 2>/dev/null
        if "$oracle" compare "$work/f-oracle.jsonl" "$work/filter.jsonl" >"$work/cmp.txt" 2>&1 &&
            "$oracle" compare "$work/f-oracle.jsonl" "$work/filter-r.jsonl" >>"$work/cmp.txt" 2>&1; then
            ok "filter '$filter': -i and -r keep tcpdump's $(wc -l <"$work/f-oracle.jsonl") keys"
        else
            bad "filter '$filter': $(head -5 "$work/cmp.txt")"
        fi
    done

    echo "== two interfaces: each flow carries its own interface's ifIndex"
    veth vA2 vB2
    cap1=$source_dir/pcaps/proto-mix.pcap
    cap2=$source_dir/pcaps/ip-tos.pcap
    start_probe two -i vB -i 7:vB2 -w "$work/two.jsonl" || bad "two: start"
    replay "$cap1" --topspeed
    in_a tcpreplay -q -i vA2 --topspeed "$cap2" >/dev/null 2>&1
    settle
    stop_probe
    { totals "$cap1" "$ifindex_b"; totals "$cap2" 7; } >"$work/two-oracle.jsonl"
    if "$oracle" compare "$work/two-oracle.jsonl" "$work/two.jsonl" >"$work/cmp.txt" 2>&1; then
        ok "two interfaces: vB's flows carry ifIndex $ifindex_b, vB2's the configured 7"
    else
        bad "two interfaces: $(head -5 "$work/cmp.txt")"
    fi

    echo "== an interface down at start: spanflow waits, and captures once it is up"
    veth vA3 vB3
    in_b ip link set vB3 down
    ifindex_b3=$(in_b cat /sys/class/net/vB3/ifindex)
    start_probe down -i vB3 -w "$work/down.jsonl" || bad "down at start: start"
    in_b ip link set vB3 up
    wait_for_line "$work/down.err" "interface is up; capturing" "$probe_pid" 4 ||
        bad "down at start: not capturing 4 s after the interface came up"
    in_a tcpreplay -q -i vA3 --topspeed "$cap1" >/dev/null 2>&1
    settle
    stop_probe
    totals "$cap1" "$ifindex_b3" >"$work/down-oracle.jsonl"
    if grep -q "vB3: interface is down; capture starts when it comes up" "$work/down.err" &&
        "$oracle" compare "$work/down-oracle.jsonl" "$work/down.jsonl" >"$work/cmp.txt" 2>&1; then
        ok "down at start: said once, then every packet captured when it came up"
    else
        bad "down at start: $(head -3 "$work/cmp.txt") $(head -4 "$work/down.err")"
    fi

    echo "== the collector reached through the captured interface"
    in_a ip addr add 198.18.0.1/30 dev vA
    in_b ip addr add 198.18.0.2/30 dev vB
    port=4739
    ip netns exec "$ns_a" "$collect" -l 198.18.0.1:$port -w "$work/own-collected.jsonl" \
        --idle-exit 60 2>"$work/own-collect.err" &
    own_collect=$!
    sleep 0.3
    start_probe own -i vB -n 198.18.0.1:$port -w "$work/own.jsonl" --template-refresh-packets 1 \
        --inactive-timeout 1 || bad "own: start"
    # Paced, so that datagrams go out while the capture runs (a flow ends every few packets with
    # an inactive timeout of 1 s), and cross the captured interface then.
    replay "$big" --pps 3000
    sleep 1.5
    stop_probe
    stop_collector "$own_collect"
    left_out=$(report_value own "left out, this probe's own exports")
    if [[ $left_out -gt 0 ]] && ! grep -q "\"destinationIPv4Address\":\"198.18.0.1\",\"protocolIdentifier\":17" "$work/own.jsonl" &&
        [[ -s $work/own-collected.jsonl ]]; then
        ok "own exports: $left_out packets of spanflow's own datagrams left out, no flow of them"
    else
        bad "own exports: left out $left_out: $(grep -c 198.18.0.1 "$work/own.jsonl") flows to the collector"
    fi
fi

echo "== readiness: READY=1 to NOTIFY_SOCKET once capturing, STOPPING=1 on SIGTERM"
/usr/bin/python3 - "$work/notify.sock" "$work/notify.txt" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
deadline = time.time() + 8
with open(sys.argv[2], "w") as out:
    while time.time() < deadline:
        try:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
        except socket.timeout:
            pass
PY
notify_pid=$!
for _ in $(seq 50); do [[ -S $work/notify.sock ]] && break; sleep 0.05; done
export NOTIFY_SOCKET=$work/notify.sock
start_probe notify -i vB -w /dev/null || bad "notify: start"
unset NOTIFY_SOCKET
sleep 0.3
grep -q "READY=1" "$work/notify.txt" && ready=1 || ready=0
stop_probe
sleep 0.3
if [[ $ready -eq 1 ]] && grep -q "STATUS=capturing on vB" "$work/notify.txt" &&
    grep -q "STOPPING=1" "$work/notify.txt"; then
    ok "sd_notify: READY=1 with a status once capturing, STOPPING=1 on SIGTERM"
else
    bad "sd_notify: ready=$ready: $(tr '\n' ' ' <"$work/notify.txt")"
fi
kill "$notify_pid" 2>/dev/null

echo "== bad input: one line, exit 2"
expect2() {
    local text=$1
    shift
    local err status
    err=$("$@" 2>&1 >/dev/null)
    status=$?
    if [[ $status -eq 2 && $(printf '%s\n' "$err" | wc -l) -eq 1 && $err == *"$text"* ]]; then
        ok "$* -> $err"
    else
        bad "$*: exit $status: $err"
    fi
}
expect2 "interface 'nosuch0' does not exist; the interfaces here are: lo, " in_b "$probe" -i nosuch0 -w -
expect2 "capture filter 'port lots'" in_b "$probe" -i vB -w - port lots
expect2 "--interface: not allowed with --read" "$probe" -r "$quiet" -i vB -w -
if command -v setpriv >/dev/null; then
    expect2 "needs root or CAP_NET_RAW" in_b setpriv --reuid=nobody --regid=nogroup --clear-groups \
        --inh-caps=-all "$probe" -i vB -w /dev/null
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
