#!/usr/bin/env bash
# Installation and the systemd template unit: `cmake --install` of a built tree (into a DESTDIR,
# at the prefix the tree was configured with) must give both programs, spanflow@.service and the
# example environment file, at the paths the unit names; the unit must keep its service type and
# hardening, and `systemd-analyze verify` of an instance (spanflow@eth0) in the installed tree must
# find nothing to say about it.
# The unit's paths are fixed at configure time (configure_file), so the test installs with the
# configured prefix, not `--prefix`: a different install-time prefix would move the files but not
# the paths in the unit.
# Usage: systemd-unit.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
ok() { echo "ok: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
finish() {
    echo "$pass passed, $fail failed"
    if [[ $fail -eq 0 ]]; then exit 0; fi
    exit 1
}

cache() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt"; }
cmake_cmd=$(cache CMAKE_COMMAND)
[[ -x $cmake_cmd ]] || cmake_cmd=cmake
prefix=$(cache CMAKE_INSTALL_PREFIX)
unit_dir=$(cache SPANFLOW_SYSTEMD_UNIT_DIR)
[[ $unit_dir == /* ]] || unit_dir=$prefix/$unit_dir

# 1. The install itself.
root=$tmp/root
if ! DESTDIR=$root "$cmake_cmd" --install "$build_dir" >"$tmp/install.log" 2>&1; then
    bad "cmake --install $build_dir failed:"
    sed 's/^/    /' "$tmp/install.log"
    finish
fi
if grep -q 'CMake Warning' "$tmp/install.log"; then
    bad "cmake --install warned:"
    sed 's/^/    /' "$tmp/install.log"
fi
unit=$root$unit_dir/spanflow@.service
if [[ ! -f $unit ]]; then
    bad "no unit at $unit_dir/spanflow@.service; installed:"
    (cd "$root" && find . -type f | sed 's/^\./    /')
    finish
fi
ok "cmake --install (prefix $prefix) put the unit at $unit_dir/spanflow@.service"

# 2. The paths the unit names are the ones installed.
exec_start=$(sed -n 's/^ExecStart=[-@:+!]*//p' "$unit")
binary=${exec_start%% *}
bin_dir=$(dirname "$binary")
env_file=$(sed -n 's/^EnvironmentFile=//p' "$unit")
conf_dir=$(dirname "$env_file")
paths_ok=1
if grep -nE '@[A-Z][A-Z_]*@' "$unit"; then
    bad "the unit keeps a configure_file placeholder (above)"
    paths_ok=0
fi
if [[ $binary != /*/spanflow ]]; then
    bad "ExecStart does not name an absolute .../spanflow: $exec_start"
    paths_ok=0
fi
if [[ $env_file != /*/spanflow/%i.env ]]; then
    bad "EnvironmentFile is not a required .../spanflow/%i.env: '$env_file'"
    paths_ok=0
fi
for program in spanflow spanflow-collect; do
    if [[ ! -x $root$bin_dir/$program ]]; then
        bad "no executable $bin_dir/$program installed"
        paths_ok=0
    fi
done
if [[ ! -f $root$conf_dir/spanflow.env.example ]]; then
    bad "no $conf_dir/spanflow.env.example installed (the directory EnvironmentFile= reads)"
    paths_ok=0
elif ! cmp -s "$root$conf_dir/spanflow.env.example" "$source_dir/dist/systemd/spanflow.env.example"; then
    bad "$conf_dir/spanflow.env.example differs from dist/systemd/spanflow.env.example"
    paths_ok=0
fi
if [[ $paths_ok -eq 1 ]]; then
    ok "installed $bin_dir/spanflow, $bin_dir/spanflow-collect and $conf_dir/spanflow.env.example, as the unit names them"
fi

# 3. Service type, restart and hardening.
missing=()
for line in 'Type=notify' 'NotifyAccess=main' 'Restart=on-failure' 'NoNewPrivileges=yes' \
    'ProtectSystem=strict' 'DynamicUser=yes' 'CapabilityBoundingSet=CAP_NET_RAW' \
    'AmbientCapabilities=CAP_NET_RAW' 'MemoryDenyWriteExecute=yes'; do
    grep -qFx "$line" "$unit" || missing+=("$line")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    ok "the unit has its type, restart policy and hardening"
else
    bad "the unit lacks: $(printf '%s\n' "${missing[@]}" | paste -sd ',' | sed 's/,/, /g')"
fi

# 4. systemd-analyze verify of an instance, inside the installed tree (--root).
analyze=$(command -v systemd-analyze || true)
if [[ -z $analyze ]]; then
    if [[ $fail -eq 0 ]]; then
        echo "SKIP: no systemd-analyze here ($pass install checks passed)"
        exit 0
    fi
    finish
fi
# The tree holds only what spanflow installs. verify also needs what any system has: the targets
# that the default dependencies and [Install] name (without sysinit.target the start job fails),
# and the other commands the unit runs (/bin/kill). Copy those from this host; never spanflow.
host_units=
for d in /usr/lib/systemd/system /lib/systemd/system; do
    if [[ -f $d/sysinit.target ]]; then host_units=$d; break; fi
done
if [[ -z $host_units ]]; then
    if [[ $fail -eq 0 ]]; then
        echo "SKIP: no sysinit.target on this host to verify the unit against ($pass install checks passed)"
        exit 0
    fi
    finish
fi
mkdir -p "$root/usr/lib/systemd/system"
for target in "$host_units"/*.target; do
    [[ -e $root/usr/lib/systemd/system/${target##*/} ]] || cp "$target" "$root/usr/lib/systemd/system/"
done
while read -r command; do
    [[ $command == "$binary" || -e $root$command || ! -x $command ]] && continue
    mkdir -p "$root$(dirname "$command")"
    cp "$command" "$root$command"
done < <(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$unit")
# As `systemctl enable --now spanflow@eth0` would find it: with its config in place.
cp "$root$conf_dir/spanflow.env.example" "$root$conf_dir/eth0.env"

verify_rc=0
"$analyze" verify --root="$root" spanflow@eth0.service >"$tmp/verify.log" 2>&1 || verify_rc=$?
# Every line counts against the unit except one that names another unit (a host target copied in,
# from another systemd version) as its subject: "other.target: ..." or "/path/other.target:N: ...".
complaints=()
while IFS= read -r line; do
    subject=${line%%: *}
    subject=${subject%:[0-9]*}
    if [[ $subject =~ \.(target|service|socket|slice|mount|path|timer)$ && $subject != *spanflow@* ]]; then
        echo "note: ignored, about another unit: $line"
    else
        complaints+=("$line")
    fi
done <"$tmp/verify.log"
if [[ $verify_rc -ne 0 || ${#complaints[@]} -ne 0 ]]; then
    bad "systemd-analyze verify --root=<DESTDIR> spanflow@eth0.service (status $verify_rc):"
    sed 's/^/    /' "$tmp/verify.log"
else
    ok "systemd-analyze verify --root=<DESTDIR> spanflow@eth0.service: nothing to say"
fi
finish
