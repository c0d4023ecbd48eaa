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

# wait_for_line FILE TEXT PID [SECONDS]: waits until FILE has a line containing TEXT (a program's
# "ready" line); false when process PID ends first or SECONDS (default 5) pass.
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
