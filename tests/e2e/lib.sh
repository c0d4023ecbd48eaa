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
