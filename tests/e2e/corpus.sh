#!/usr/bin/env bash
# Corpus test: every real capture in ../shared/pcaps goes through `spanflow -w`, and tshark (through
# flow-oracle) must agree on every flow key's packets, bytes, TCP flags and times (1 ms).
#   - a capture spanflow reads whole: compared as it is;
#   - a capture damaged in the middle (exit 1, "packet N: ..."): compared on the N-1 packets
#     before the damage, cut out by editcap (Wireshark's own reader, not libpcap);
#   - a capture spanflow refuses (exit 2): the one-line error must say why, and an independent
#     tool must agree: tshark finds the file damaged, or capinfos names a link type that
#     SEMANTICS.md does not list.
# The project's own captures of encapsulations and shims (pcaps/encap-*) and of pcapng layouts
# (pcaps/format-pcapng*) go through the same comparison: tshark, not the generator's model, judges
# that each header is walked as Wireshark walks it.
# Usage: corpus.sh SPANFLOW SHARED_DIR [SOURCE_DIR]
set -uo pipefail
spanflow=$1
shared=$2
source_dir=${3:-}
oracle=$shared/tools/flow-oracle
if [ ! -d "$shared/pcaps" ] || [ ! -x "$oracle" ]; then
    echo "SKIP: $shared/pcaps or flow-oracle is absent (they exist only in the project's workspace)"
    exit 0
fi
own=()
if [ -n "$source_dir" ]; then
    own=("$source_dir"/pcaps/encap-*.pcap "$source_dir"/pcaps/format-pcapng*.pcapng)
fi
command -v tshark >/dev/null || { echo "FAIL: tshark is not installed (scripts/install-deps)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { echo "ok   $1: $2"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# SEMANTICS.md, "Link types read", in capinfos' words.
listed_encap='^(Ethernet|Linux cooked-mode capture v1|Linux cooked-mode capture v2|Raw IP|Raw IPv4|Raw IPv6|NULL/Loopback|OpenBSD loopback|PPP|Cisco HDLC|NFLOG)$'

for capture in "$shared"/pcaps/* "${own[@]}"; do
    case "$capture" in *.pcap | *.pcapng | *.cap) ;; *) continue ;; esac
    name=$(basename "$capture")
    out=$work/$name.jsonl
    err=$work/$name.err
    "$spanflow" -r "$capture" -w "$out" 2>"$err"
    status=$?
    last=$(tail -n 1 "$err")
    case $status in
        0)
            "$oracle" totals "$capture" >"$work/oracle.jsonl" 2>/dev/null
            ;;
        1)
            n=$(sed -n "s|^spanflow: .*: packet \([0-9][0-9]*\): .*|\1|p" <<<"$last")
            if [ -z "$n" ]; then bad "$name" "exit 1 without 'packet N' in: $last"; continue; fi
            : >"$work/oracle.jsonl"
            rm -f "$work/head.pcapng"
            if [ "$n" -gt 1 ]; then
                editcap -r "$capture" "$work/head.pcapng" "1-$((n - 1))" 2>/dev/null
                "$oracle" totals "$work/head.pcapng" >"$work/oracle.jsonl" 2>/dev/null
            fi
            ;;
        2)
            if [ "$(wc -l <"$err")" -ne 1 ]; then bad "$name" "error is not one line"; continue; fi
            if grep -q "unsupported link type" <<<"$last"; then
                encaps=$(capinfos -E "$capture" 2>/dev/null | sed -n 's/^File encapsulation: *//p')
                if grep -Eq "$listed_encap" <<<"$encaps"; then
                    bad "$name" "refused, but capinfos says its link type is '$encaps'"
                else
                    ok "$name" "refused as tshark reads '$encaps': $last"
                fi
            elif grep -q "cannot read capture" <<<"$last"; then
                if "$oracle" totals "$capture" >/dev/null 2>&1 || [ $? -ne 3 ]; then
                    bad "$name" "refused, but tshark reads it: $last"
                else
                    ok "$name" "refused, tshark finds it damaged too: $last"
                fi
            else
                bad "$name" "exit 2 with an unexpected error: $last"
            fi
            continue
            ;;
        *)
            bad "$name" "exit status $status: $last"
            continue
            ;;
    esac
    # Times are compared too, unless the capture holds timestamps that are not valid times (a
    # fraction of a second of 1e9 ns or more), which tshark prints as text that is no number.
    times=(--times-ms 1)
    if tshark -r "$capture" -T fields -e frame.time_epoch 2>/dev/null | grep -Eq '^-|\.[0-9]{10}'; then
        times=()
        echo "note $name: invalid timestamps in the capture; times not compared"
    fi
    if verdict=$("$oracle" compare "$work/oracle.jsonl" "$out" "${times[@]}"); then
        ok "$name" "$(tail -n 1 <<<"$verdict")${n:+ (first $((n - 1)) packets, then: $last)}"
    else
        bad "$name" "$verdict"
    fi
    unset n
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
