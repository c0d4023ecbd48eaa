# Shell pieces the end-to-end tests share; source it.

# A UDP port on 127.0.0.1 free at the time of asking.
free_udp_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# agree_with_tshark SHARED CAPTURE FLOWS_JSONL WORK_DIR [--ipv4-only]: compares FLOWS_JSONL with
# tshark's per-key totals of CAPTURE (flow-oracle), times within 1 ms unless the capture's own
# times are invalid (10 fraction digits or a sign, as tshark prints damaged ones). Prints the
# verdict; the status is flow-oracle's.
agree_with_tshark() {
    local shared=$1 capture=$2 flows=$3 work=$4
    shift 4
    local times=(--times-ms 1)
    if tshark -r "$capture" -T fields -e frame.time_epoch 2>/dev/null | grep -Eq '^-|\.[0-9]{10}'; then
        times=()
    fi
    "$shared/tools/flow-oracle" totals "$capture" >"$work/oracle.jsonl" 2>/dev/null
    "$shared/tools/flow-oracle" compare "$work/oracle.jsonl" "$flows" "$@" --ignore-ifindex "${times[@]}"
}

# collector_port FILE: the port spanflow-collect said it listens on (127.0.0.1) in FILE, its stderr.
collector_port() {
    sed -n 's/^spanflow-collect: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$1"
}

# wait_for_line FILE TEXT PID [SECONDS]: waits until FILE has a line containing TEXT (a program's
# "ready" line); false when process PID ends first or SECONDS (default 5) pass. Remove FILE before
# starting the program: the redirect of a command started with & truncates FILE only once the
# child runs, so a line left by an earlier run could be taken for this one's.
wait_for_line() {
    local file=$1 text=$2 pid=$3 tries=$(( ${4:-5} * 20 )) _
    for _ in $(seq "$tries"); do
        grep -qF -- "$text" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# quiet_netns NS: makes network namespace NS with IPv6 off (no router solicitations or other
# kernel noise in flow counts) and its loopback up. False when namespaces cannot be made here.
quiet_netns() {
    ip netns add "$1" 2>/dev/null || return 1
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$1" link set lo up
}

# veth_pair NS_A IF_A NS_B IF_B [QUEUES [MTU]]: a veth pair from IF_A in NS_A to IF_B in NS_B,
# QUEUES (default 1) queues each way, up, with offloads off (GRO would merge packets, VLAN offload
# move tags) and MTU (default the largest, so that any frame of a capture goes out whole).
veth_pair() {
    local queues=${5:-1} mtu=${6:-65535}
    ip link add "$2" netns "$1" numtxqueues "$queues" numrxqueues "$queues" type veth peer \
        name "$4" netns "$3" numtxqueues "$queues" numrxqueues "$queues" || return 1
    ip -n "$1" link set "$2" mtu "$mtu" up
    ip -n "$3" link set "$4" mtu "$mtu" up
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1
    ip netns exec "$3" ethtool -K "$4" tso off gso off gro off tx off rx off rxvlan off >/dev/null 2>&1
    return 0
}

# live_veth TAG: for a live test beside others in one script, as root with tcpreplay: the
# sender's and the probe's namespaces ($ns_a = TAG-a, $ns_b = TAG-b, deleted by the caller's
# cleanup) joined by veth vA-vB. False, with the reason in $live_veth_skip, when it cannot.
live_veth() {
    if [[ $(id -u) -ne 0 ]] || ! command -v tcpreplay >/dev/null; then
        live_veth_skip="it needs root and tcpreplay"
        return 1
    fi
    ns_a=$1-a
    ns_b=$1-b
    if ! quiet_netns "$ns_a" || ! quiet_netns "$ns_b" || ! veth_pair "$ns_a" vA "$ns_b" vB; then
        live_veth_skip="cannot make namespaces and a veth pair here"
        return 1
    fi
}

# The tallies of a test script: ok TEXT and bad TEXT print a verdict line and count it.
pass=0
fail=0
ok() {
    echo "ok   $*"
    pass=$((pass + 1))
}
bad() {
    echo "FAIL $*"
    fail=$((fail + 1))
}

# start_probe NAME ARGS...: starts spanflow ($probe) in the probe's namespace ($ns_b), stderr to
# $work/NAME.err, and waits for its "capturing on" line. Sets $probe_pid.
start_probe() {
    local name=$1
    shift
    rm -f "$work/$name.err"
    # Not through a function: $! must be spanflow itself (ip netns exec execs it), so that the
    # signals below reach it and not a subshell.
    ip netns exec "$ns_b" "$probe" "$@" 2>"$work/$name.err" &
    probe_pid=$!
    wait_for_line "$work/$name.err" "capturing on" "$probe_pid" && return 0
    echo "spanflow did not start: $(cat "$work/$name.err")"
    return 1
}
# stop_probe [SIGNAL]: SIGTERM by default, then waits (at most 20 s, then SIGKILL); sets
# $probe_status.
stop_probe() {
    kill -"${1:-TERM}" "$probe_pid" 2>/dev/null
    local _
    for _ in $(seq 200); do
        kill -0 "$probe_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$probe_pid" 2>/dev/null
    wait "$probe_pid"
    probe_status=$?
}

# ethernet_captures SOURCE_DIR [SHARED_DIR]: the captures a live test replays, one path a line:
# classic pcap or pcapng of Ethernet frames (not the error-* ones), at most 20000 packets (the
# generated big ones take seconds each at a paced rate), every frame whole and at most 3014
# bytes (an MTU of 3000, which AF_XDP's frames and DPDK's mbufs take).
ethernet_captures() {
    local f n
    for f in "$1"/pcaps/*.pcap ${2:+"$2"/pcaps/*.pcap}; do
        [[ -f $f ]] || continue
        [[ $(basename "$f") == error-* ]] && continue
        capinfos -E "$f" 2>/dev/null | grep -q 'Ethernet$' || continue
        capinfos -M "$f" >/dev/null 2>&1 || continue
        n=$(capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}')
        [[ $n -le 20000 ]] || continue
        tshark -r "$f" -T fields -e frame.len -e frame.cap_len 2>/dev/null |
            awk '$1 != $2 || $1 > 3014 { skip = 1 } END { exit !skip }' && continue
        echo "$f"
    done
}

# report_sum FILE LABEL: the LABEL lines (an extended regular expression) of the last report in
# FILE (a spanflow's standard error), summed over its interfaces or queues.
report_sum() {
    # Through the environment: awk -v would take the regular expression's backslashes itself.
    label="^ +$2 +[0-9]+$" awk '/^spanflow: (live capture on|replay of) / { s = 0 }
        $0 ~ ENVIRON["label"] { s += $NF } END { print s + 0 }' "$1"
}

# namespace_pair TAG: the sender's and the probe's network namespaces, $ns_a (TAG-a) and $ns_b
# (TAG-b), made quiet (quiet_netns), and a work folder $work. On every exit the shell's
# background jobs still running are killed, and the namespaces, $work and the paths in
# $cleanup_paths (an array the caller may fill) are removed. Calls the caller's skip when
# namespaces cannot be made here.
namespace_pair() {
    ns_a=$1-a
    ns_b=$1-b
    work=$(mktemp -d)
    cleanup_paths=()
    trap namespace_pair_cleanup EXIT
    trap 'exit 130' INT TERM
    quiet_netns "$ns_a" && quiet_netns "$ns_b" || skip "cannot create network namespaces here"
}
namespace_pair_cleanup() {
    # Only this shell's background jobs that are still running: a PID already reaped is never
    # signalled (it may belong to another process by now).
    local pid
    for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$ns_a" 2>/dev/null
    ip netns del "$ns_b" 2>/dev/null
    rm -rf "$work" "${cleanup_paths[@]}"
}

# has_backend SPANFLOW NAME: whether this spanflow was built with --backend NAME.
has_backend() {
    ! "$1" --backend "$2" -w /dev/null --queues x 2>&1 | grep -q "not in this build"
}
