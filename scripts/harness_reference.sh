#!/usr/bin/env bash
# The lock-interop harness (tools/lock_harness.py) against Samba (smbd) and
# NFS-Ganesha (FSAL VFS) sharing one directory, which is also the harness's
# local side (--mount): what two stock servers on one directory do with
# cross-protocol locks, measured against concordfs's expected semantics.
# Writes the report (a generated Markdown file; default
# docs/harness_reference.md) and the harness's JSON next to it (OUT.json
# when OUT is not the default). Exit status: 0 when the harness completed
# (deviations are the point of the report), 2 on setup errors.
#
# Everything runs in a private network namespace with only loopback up;
# rpcbind, rpc.statd and ganesha also get a private /run (as in
# scripts/bench_nfs.sh). nlm_lockcli takes over the portmapper's NLM
# mapping from Ganesha during the run (--takeover; client and server share
# 127.0.0.1). Only the processes started here are stopped, by PID. If
# Ganesha does not start, the run goes on SMB-only (--skip-nfs) and the
# report says so.
#
#   scripts/harness_reference.sh BUILD_DIR [OUT.md]
set -euo pipefail
source "$(dirname "$0")/samba_conf.sh"
source "$(dirname "$0")/peer_lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: harness_reference.sh BUILD_DIR [OUT.md]}" && pwd)
out=${2:-$root/docs/harness_reference.md}
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
tool=$build/tests/integration/nlm_lockcli
[ -x "$tool" ] || { echo "harness_reference: $tool is missing (ninja -C $build nlm_lockcli)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "harness_reference: needs root (network namespace, servers)" >&2; exit 2; }

ensure_packages harness_reference samba nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common python3-impacket iproute2

ns=cfsharness$$
tmp=$(mktemp -d /var/tmp/cfs-harness-XXXXXX)
pids=()  # started here, stopped in reverse order
ns_made=
stop() {  # pid: TERM, up to 5 s, then KILL
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  [ -n "$ns_made" ] && ip netns del "$ns"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {  # message log
  echo "harness_reference: $1" >&2
  [ -f "${2:-}" ] && tail -n 20 "$2" >&2
  exit 2
}

ip netns add "$ns"
ns_made=1
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }
ns_run=(ip netns exec "$ns")
private_run=("${ns_run[@]}" unshare --mount --propagation private
  sh -c 'mount -t tmpfs cfs-harness-run /run && exec "$@"' sh)
wait_for() {  # seconds pid description command...: 0 when command succeeds
  local end=$((SECONDS + $1)) pid=$2; shift 3
  while ((SECONDS < end)); do
    kill -0 "$pid" 2>/dev/null || return 1
    "$@" > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

dir=$tmp/shared  # served by both, and the harness's local side
mkdir -p "$dir"
chmod 0777 "$dir"

# rpcbind and rpc.statd (Ganesha needs both for NLM).
"${private_run[@]}" rpcbind -f > "$tmp/rpcbind.log" 2>&1 &
pids+=($!)
wait_for 10 "${pids[-1]}" rpcbind in_ns rpcinfo -p 127.0.0.1 ||
  fail "rpcbind did not start" "$tmp/rpcbind.log"
mkdir -p "$tmp/statd/sm" "$tmp/statd/sm.bak"
"${private_run[@]}" rpc.statd -F -d -L -P "$tmp/statd" > "$tmp/statd.log" 2>&1 &
pids+=($!)
wait_for 10 "${pids[-1]}" rpc.statd sh -c "ip netns exec $ns rpcinfo -p 127.0.0.1 | grep -qw status" ||
  fail "rpc.statd did not start" "$tmp/statd.log"

# NFS-Ganesha, FSAL VFS on the shared directory.
ganesha_conf "$tmp" "$dir" /shared > "$tmp/ganesha.conf"
nfs_note=""
"${private_run[@]}" ganesha.nfsd -F -f "$tmp/ganesha.conf" -L "$tmp/ganesha.log" \
  -p "$tmp/ganesha.pid" -N NIV_EVENT > "$tmp/ganesha.out" 2>&1 &
pids+=($!)
ganesha_pid=$!
nfs_args=(--nfs 127.0.0.1:2049 --mount-port 20048 --nlm-port 32803 --export "$dir"
  --caller localhost --takeover)
if ! wait_for 60 "$ganesha_pid" ganesha sh -c \
    "ip netns exec $ns rpcinfo -p 127.0.0.1 | awk '\$1 == 100021 && \$2 == 4' | grep -q ."; then
  nfs_note="NFS-Ganesha did not start here (its log: $(tail -n 3 "$tmp/ganesha.log" 2>/dev/null | tr '\n' ' ')); NFS/NLM cells skipped."
  echo "harness_reference: $nfs_note" >&2
  nfs_args=(--skip-nfs)
fi
ganesha_version=$(dpkg-query -W -f='${Version}' nfs-ganesha 2>/dev/null || echo "?")

# Samba: stock settings but its own directories, on loopback port 4455 of
# the namespace (as tests/integration/smb/smb_lib.sh starts it); alice
# (password Secret-1) is root.
s=$tmp/samba
mkdir -p "$s"
printf 'root = alice\n' > "$s/users.map"
{
  samba_global "$s" 4455 SAMBAREF
  cat <<EOC
[share]
  path = $dir
  read only = no
EOC
} > "$tmp/smb.conf"
printf 'Secret-1\nSecret-1\n' |
  pdbedit -a -t -u root -b "tdbsam:$s/passdb.tdb" -s "$tmp/smb.conf" > /dev/null
# smbd signals its whole process group when it exits: a group of its own.
"${ns_run[@]}" setsid smbd --foreground --no-process-group --debug-stdout \
  -s "$tmp/smb.conf" > "$tmp/smbd.log" 2>&1 < /dev/null &
pids+=($!)
wait_for 20 "${pids[-1]}" smbd in_ns timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4455' ||
  fail "smbd did not start" "$tmp/smbd.log"
samba_version=$(smbd --version 2>/dev/null | awk '{print $2}')

json=$tmp/report.json
set +e
in_ns timeout 900 /usr/bin/python3 "$root/tools/lock_harness.py" --mount "$dir" \
  "${nfs_args[@]}" --smb 127.0.0.1:4455 --share share --user 'alice%Secret-1' \
  --nlm-lockcli "$tool" --nlm-log "$tmp/nlm_lockcli.log" --wait-timeout 12 \
  --title "Samba $samba_version + NFS-Ganesha $ganesha_version on one directory" \
  --json "$json" --markdown "$tmp/report.md" \
  --note "Generated by \`scripts/harness_reference.sh\` (do not edit by hand); regenerate with \`sudo scripts/harness_reference.sh BUILD_DIR\` after \`ninja -C BUILD_DIR nlm_lockcli\`. Samba (smbd, stock settings, share on the directory) and NFS-Ganesha (FSAL VFS, export of the directory) serve one local directory, which is also the harness's local side (\`--mount\`); the NLM client's callbacks go to nlm_lockcli (caller name localhost). A blocked request granted later than 2 s after the holder's unlock is \`late\`; one not granted within 12 s is \`hung\`." \
  ${nfs_note:+--note "$nfs_note"} | tee "$tmp/harness.out"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
  tail -n 20 "$tmp/nlm_lockcli.log" >&2 2>/dev/null
  fail "the harness did not complete (exit status $rc)"
fi
json_out=${out%.md}.json
[ "$out" = "$root/docs/harness_reference.md" ] && json_out=
cp "$tmp/report.md" "$out"
[ -n "$json_out" ] && cp "$json" "$json_out"
echo "harness_reference: report written to $out"
