#!/usr/bin/env bash
# Faults, each with the real programs on loopback (and, as root, on a veth pair in namespaces this
# test makes):
#   - a write error on -w (a full disk: /dev/full; a closed pipe on standard output): one line
#     naming the file and the reason, every flow still exported to the collector, exit 1, the
#     report counting the records not written; spanflow-collect the same for its own output;
#   - a collector killed and restarted in the middle of a run, in replay (a capture fed through a
#     FIFO over seconds) and live: the probe counts the sends that failed, the restarted collector
#     decodes again from the next template refresh, and nothing is lost but what was sent while it
#     was down (each collector's own sequence accounting shows no gap, and every record it wrote
#     is one a second, steady collector got too);
#   - SIGTERM in the middle of the heaviest replay and the heaviest live capture: every flow the
#     report counts reaches spanflow-collect; the same in a replay from a pipe that sends nothing,
#     at once.
# (A capture file cut or rewritten while it is read is tested in tests/unit/pcapng_source_test.cpp.)
# Usage: faults.sh SPANFLOW SPANFLOW_COLLECT MAKE_FLOW_PCAP SOURCE_DIR
set -uo pipefail
probe=$1
collect=$2
make_flow_pcap=$3
source_dir=$4
source "$(dirname "$0")/lib.sh"  # ok, bad, report_sum, wait_for_line, live_veth

work=$(mktemp -d)
collector_pids=()
cleanup() {
    local pid
    for pid in "${collector_pids[@]}" $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
    [[ -n ${ns_a:-} ]] && ip netns del "$ns_a" 2>/dev/null
    [[ -n ${ns_b:-} ]] && ip netns del "$ns_b" 2>/dev/null
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns=()  # set to (ip netns exec NS) to run collectors there

# collector NAME PORT [ARGS...]: starts spanflow-collect on 127.0.0.1:PORT (0: any) writing
# $work/NAME.jsonl and its report to $work/NAME.err; sets $collector_port and $collector_pid.
collector() {
    local name=$1 port=$2
    shift 2
    rm -f "$work/$name.err"
    "${in_ns[@]}" "$collect" -l "127.0.0.1:$port" -w "$work/$name.jsonl" "$@" 2>"$work/$name.err" &
    collector_pid=$!
    collector_pids+=("$collector_pid")
    if ! wait_for_line "$work/$name.err" "listening on" "$collector_pid" 10; then
        echo "spanflow-collect did not start: $(cat "$work/$name.err")"
        return 1
    fi
    collector_port=$(collector_port "$work/$name.err")
}
# stop_collector PID: SIGTERM, then waits for it (it writes its summary on the way out).
stop_collector() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }
# The collector's own count of records it found missing by sequence numbers.
lost_records() { sed -n 's/.* \([0-9][0-9]*\) lost records.*/\1/p' "$1" | head -n 1; }
# Whether every line of $1 is in $2, as many times (sorted multiset inclusion).
subset() { [[ -z $(sort "$1" | comm -23 - <(sort "$2")) ]]; }
# The error lines of a probe's standard error: everything but the report.
errors_of() { grep '^spanflow: ' "$1" | grep -v -E '^spanflow: (replay of|live capture on) '; }

capture=$source_dir/pcaps/proto-mix.pcap

# --- write errors ---------------------------------------------------------------------------------

check_write_error() {  # NAME STATUS ERRFILE WANT_LINE
    local name=$1 status=$2 err=$3 want=$4
    local ended unwritten got errors
    ended=$(report_sum "$err" "flows ended")
    unwritten=$(report_sum "$err" "not written, write error")
    got=$(lines "$work/$name-c.jsonl")
    errors=$(errors_of "$err")
    if [[ $status -ne 1 ]]; then
        bad "$name: exit status $status, not 1"
    elif [[ $(wc -l <<<"$errors") -ne 1 || $errors != "spanflow: $want"* ]]; then
        bad "$name: the error lines are not one saying '$want': $errors"
    elif [[ $ended -eq 0 || $unwritten -ne $ended ]]; then
        bad "$name: report says $ended flows ended, $unwritten not written"
    elif [[ $got -ne $ended ]]; then
        bad "$name: the collector got $got of $ended flows"
    else
        ok "$name: one line ($errors), exit 1, $unwritten records counted as not written, the collector got all $got"
    fi
}

collector full-c 0 --idle-exit 2 || exit 1
"$probe" -r "$capture" -w /dev/full -n "127.0.0.1:$collector_port" -v 9 2>"$work/full.err"
status=$?
wait "$collector_pid"
check_write_error full $status "$work/full.err" "cannot write /dev/full: No space left on device"

# A reader that goes away at once: every write meets a closed pipe.
collector pipe-c 0 --idle-exit 2 || exit 1
"$probe" -r "$capture" -w - -n "127.0.0.1:$collector_port" 2>"$work/pipe.err" | true
status=${PIPESTATUS[0]}
wait "$collector_pid"
check_write_error pipe "$status" "$work/pipe.err" "cannot write stdout: Broken pipe"

# check_collector_write_error NAME WANT WRITE_TO: spanflow-collect writing to WRITE_TO (a file, or
# "pipe": standard output into a pipe whose reader is gone) must stop with one line saying WANT and
# how many lines it could not write, exit 1.
check_collector_write_error() {
    local name=$1 want=$2 to=$3
    if [[ $to == pipe ]]; then
        { "$collect" -l 127.0.0.1:0 --idle-exit 1 -w - 2>"$work/$name.err"; echo $? >"$work/$name.status"; } | true &
    else
        { "$collect" -l 127.0.0.1:0 --idle-exit 1 -w "$to" 2>"$work/$name.err"; echo $? >"$work/$name.status"; } &
    fi
    local job=$! _
    for _ in $(seq 200); do grep -q "listening on" "$work/$name.err" 2>/dev/null && break; sleep 0.05; done
    local port
    port=$(collector_port "$work/$name.err")
    "$probe" -r "$capture" -n "127.0.0.1:$port" 2>/dev/null
    wait "$job"
    local status line
    status=$(cat "$work/$name.status" 2>/dev/null)
    line=$(grep -F "cannot write" "$work/$name.err")
    if [[ $status != 1 ]]; then
        bad "spanflow-collect $name: exit status $status, not 1: $(cat "$work/$name.err")"
    elif [[ $(grep -c . <<<"$line") -ne 1 || $line != *"$want"*"lines not written" ]]; then
        bad "spanflow-collect $name: no one line with '$want' and the lines not written: $(cat "$work/$name.err")"
    else
        ok "spanflow-collect $name: $line; exit 1"
    fi
}
check_collector_write_error full-disk "No space left on device" /dev/full
check_collector_write_error closed-pipe "Broken pipe" pipe

# --- a collector killed and restarted in the middle of a run ------------------------------------

# check_restart NAME PROBE_ERR: after a run that fed a steady collector (NAME-ref) and one killed
# and restarted (NAME-1, then NAME-2, on the same port).
check_restart() {
    local name=$1 err=$2
    local ended ref one two errors lost1 lost2 refused
    ended=$(report_sum "$err" "flows ended")
    ref=$(lines "$work/$name-ref.jsonl")
    one=$(lines "$work/$name-1.jsonl")
    two=$(lines "$work/$name-2.jsonl")
    lost1=$(lost_records "$work/$name-1.err")
    lost2=$(lost_records "$work/$name-2.err")
    # The second collector's line of the report: its send errors and refusals (port unreachable).
    errors=$(grep -E "^ +collector 127\.0\.0\.1:$restart_port: " "$err" | tail -n 1)
    refused=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^(errors|errors,|refused)$/) n += $(i - 1) } END { print n + 0 }' <<<"$errors")
    if [[ $ended -eq 0 || $ref -ne $ended ]]; then
        bad "$name: the steady collector got $ref of $ended flows"
    elif [[ ${refused:-0} -eq 0 ]]; then
        bad "$name: no send error or refusal counted while the collector was down: $errors"
    elif [[ $two -eq 0 ]]; then
        bad "$name: the restarted collector decoded nothing: $(tail -n 2 "$work/$name-2.err")"
    elif [[ ${lost1:-x} != 0 || ${lost2:-x} != 0 ]]; then
        bad "$name: a collector found records missing in its own run: $lost1 and $lost2"
    elif ! subset "$work/$name-1.jsonl" "$work/$name-ref.jsonl" || ! subset "$work/$name-2.jsonl" "$work/$name-ref.jsonl"; then
        bad "$name: the restarted collector wrote records the steady one did not get"
    else
        ok "$name: $ended flows; the steady collector got all, the restarted one $one before and $two after ($((ended - one - two)) sent while it was down); $refused send errors and refusals counted; no gap in either run"
    fi
}

# A capture of 20 s of packet time, fed to spanflow through a FIFO over about 4 s, so that flows
# end (1 s idle timeout) and go out the whole time.
"$make_flow_pcap" -o "$work/slow.pcap" --flows 3000 --packets 200000 --pps 10000 >/dev/null
feed_slowly() {  # FIFO: writes $work/slow.pcap into FIFO in 40 steps, 0.1 s apart
    python3 - "$work/slow.pcap" "$1" <<'EOF'
import sys, time
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    step = (len(data) - 24) // 40 // 80 * 80  # whole 80-byte records (64-byte frames)
    out.write(data[:24])
    at = 24
    while at < len(data):
        out.write(data[at:at + step]); out.flush()
        at += step
        time.sleep(0.1)
EOF
}
for version in 9 10; do
    name=replay-v$version
    collector "$name-ref" 0 --idle-exit 3 || exit 1
    ref_port=$collector_port
    collector "$name-1" 0 || exit 1
    restart_port=$collector_port
    first=$collector_pid
    mkfifo "$work/$name.fifo"
    feed_slowly "$work/$name.fifo" &
    "$probe" -r "$work/$name.fifo" -n "127.0.0.1:$ref_port" -n "127.0.0.1:$restart_port" -v $version \
        --inactive-timeout 1 2>"$work/$name.err" &
    probe_pid=$!
    sleep 1.2
    stop_collector "$first"
    sleep 0.8
    collector "$name-2" "$restart_port" --idle-exit 3 || exit 1
    wait "$probe_pid"
    wait "$collector_pid"
    stop_collector "$first"
    wait 2>/dev/null
    check_restart "$name" "$work/$name.err"
done

# --- SIGTERM in the middle of the heaviest replay -------------------------------------------------

"$make_flow_pcap" -o "$work/heavy.pcap" --flows 300000 --packets 3000000 >"$work/heavy.txt"
collector heavy-c 0 --idle-exit 3 || exit 1
"$probe" -r "$work/heavy.pcap" -n "127.0.0.1:$collector_port" 2>"$work/heavy.err" &
probe_pid=$!
sleep 0.05
kill -TERM "$probe_pid"
wait "$probe_pid"
status=$?
wait "$collector_pid"
read_packets=$(report_sum "$work/heavy.err" "packets read")
ended=$(report_sum "$work/heavy.err" "flows ended")
got=$(lines "$work/heavy-c.jsonl")
lost=$(lost_records "$work/heavy-c.err")
when="after $read_packets of 3000000 packets"
[[ $read_packets -ge 3000000 ]] && when="after the whole file (the machine read it before the signal came)"
if [[ $status -eq 0 && $ended -gt 0 && $got -eq $ended && $lost == 0 ]]; then
    ok "SIGTERM in a replay, $when: all $ended flows the report counts reached spanflow-collect"
else
    bad "SIGTERM in a replay: exit $status, report $ended flows, collector $got, lost ${lost:-?}: $(tail -n 2 "$work/heavy-c.err")"
fi
rm -f "$work/heavy.pcap"

# --- SIGTERM in a replay from a pipe that sends nothing -------------------------------------------
# `tcpdump -w - | spanflow -r -` on a quiet link: the read waiting on the pipe returns at once,
# every flow read reaches the collector, exit 0. (Before, libpcap's read waited for the next bytes.)
"$make_flow_pcap" -o "$work/quiet.pcap" --flows 2000 --packets 20000 >/dev/null
collector quiet-c 0 --idle-exit 3 || exit 1
mkfifo "$work/quiet.fifo"
"$probe" -r - -n "127.0.0.1:$collector_port" <"$work/quiet.fifo" 2>"$work/quiet.err" &
probe_pid=$!
exec 3>"$work/quiet.fifo"  # the writer end stays open, and quiet, until the end of this test
cat "$work/quiet.pcap" >&3
# SIGUSR1 prints the report so far: wait until it has read all 20000 packets and waits for more.
for _ in $(seq 100); do
    kill -USR1 "$probe_pid" 2>/dev/null
    sleep 0.1
    [[ $(report_sum "$work/quiet.err" "packets read") -ge 20000 ]] && break
done
kill -TERM "$probe_pid"
stopped_in=none
for tenth in $(seq 50); do
    kill -0 "$probe_pid" 2>/dev/null || { stopped_in="$((tenth / 10)).$((tenth % 10)) s"; break; }
    sleep 0.1
done
exec 3>&-  # the end of the pipe: a spanflow still waiting ends now
wait "$probe_pid"
status=$?
wait "$collector_pid"
read_packets=$(report_sum "$work/quiet.err" "packets read")
created=$(report_sum "$work/quiet.err" "flows created")
ended=$(report_sum "$work/quiet.err" "flows ended")
got=$(lines "$work/quiet-c.jsonl")
lost=$(lost_records "$work/quiet-c.err")
if [[ $stopped_in != none && $status -eq 0 && $read_packets -eq 20000 && $ended -gt 0 && $ended -eq $created &&
    $got -eq $ended && $lost == 0 ]]; then
    ok "SIGTERM in a replay from a quiet pipe: ended within $stopped_in, all $ended flows at spanflow-collect"
else
    bad "SIGTERM in a replay from a quiet pipe: ended within $stopped_in (of 5 s), exit $status, $read_packets packets read, report $created flows created and $ended ended, collector $got, lost ${lost:-?}"
fi

# --- live: a restarted collector and SIGTERM, on a veth pair (root) ------------------------------

if ! live_veth "sff-$$"; then
    echo "skip live faults: $live_veth_skip"
else
    in_ns=(ip netns exec "$ns_b")
    # Restart: 4 s of traffic at 20000 packets a second, flows ending on a 1 s idle timeout.
    name=live-v10
    collector "$name-ref" 0 --idle-exit 4 || exit 1
    ref_port=$collector_port
    collector "$name-1" 0 || exit 1
    restart_port=$collector_port
    first=$collector_pid
    ip netns exec "$ns_b" "$probe" -i vB -n "127.0.0.1:$ref_port" -n "127.0.0.1:$restart_port" \
        --inactive-timeout 1 2>"$work/$name.err" &
    probe_pid=$!
    wait_for_line "$work/$name.err" "capturing on" "$probe_pid" 10
    ip netns exec "$ns_a" tcpreplay -q -i vA --pps 20000 --loop 1 "$work/slow.pcap" >/dev/null 2>&1 &
    sender=$!
    sleep 1.5
    stop_collector "$first"
    sleep 1
    collector "$name-2" "$restart_port" --idle-exit 4 || exit 1
    wait "$sender"
    sleep 2  # the last flows' idle timeout
    kill -TERM "$probe_pid"
    wait "$probe_pid"
    wait "$collector_pid"
    stop_collector "$first"
    check_restart "$name" "$work/$name.err"

    # SIGTERM while the sender is still at full speed, with many flows held.
    "$make_flow_pcap" -o "$work/live-heavy.pcap" --flows 100000 --packets 400000 >/dev/null
    collector live-heavy-c 0 --idle-exit 3 || exit 1
    ip netns exec "$ns_b" "$probe" -i vB -n "127.0.0.1:$collector_port" 2>"$work/live-heavy.err" &
    probe_pid=$!
    wait_for_line "$work/live-heavy.err" "capturing on" "$probe_pid" 10
    ip netns exec "$ns_a" tcpreplay -q -i vA --topspeed "$work/live-heavy.pcap" >/dev/null 2>&1 &
    sender=$!
    sleep 0.3
    kill -TERM "$probe_pid"
    wait "$probe_pid"
    status=$?
    wait "$sender" 2>/dev/null
    wait "$collector_pid"
    ended=$(report_sum "$work/live-heavy.err" "flows ended")
    got=$(lines "$work/live-heavy-c.jsonl")
    lost=$(lost_records "$work/live-heavy-c.err")
    if [[ $status -eq 0 && $ended -gt 0 && $got -eq $ended && $lost == 0 ]]; then
        ok "SIGTERM in a live capture at full speed: all $ended flows the report counts reached spanflow-collect"
    else
        bad "SIGTERM in a live capture: exit $status, report $ended flows, collector $got, lost ${lost:-?}"
    fi
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
