#!/usr/bin/env bash
# The portmapper as real clients see it: rpcinfo (libtirpc: PMAP v2 DUMP,
# RPCBIND v3/v4, NULL calls per program/version) and libnfs finding NFS and
# MOUNT without being told the ports. Two modes:
#   embedded  the daemon serves portmap/rpcbind on 111 itself;
#   system    the daemon registers with Debian's rpcbind, and unregisters
#             when it stops.
# Runs in a private network + mount namespace (only loopback; a private
# /run so nothing reaches a host rpcbind), which it creates itself.
#   nfs_portmap_test.sh CONCORDFS_BINARY
set -euo pipefail
bin=$(readlink -f "$1")

if [ "${CFS_IN_NS:-}" != 1 ]; then
  exec env CFS_IN_NS=1 unshare --net --mount --fork "$0" "$@"
fi

mount -t tmpfs tmpfs /run
ip link set lo up
tmp=$(mktemp -d /tmp/cfs-portmap-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  exit 1
}

start_daemon() {  # mode name
  cat > "$tmp/$2.yaml" <<YAML
data_dir: $tmp/data
log_level: info
mount: {enabled: false}
smb: {enabled: false}
nfs:
  port: 2049
  portmapper: $1
  exports:
    - {path: /, clients: [127.0.0.0/8], squash: none}
YAML
  "$bin" --config "$tmp/$2.yaml" > "$tmp/$2.log" 2>&1 &
  daemon=$!
  pids+=("$daemon")
  for _ in $(seq 100); do
    grep -q "running;" "$tmp/$2.log" && return 0
    kill -0 "$daemon" 2>/dev/null || fail "daemon ($1) exited"
    sleep 0.05
  done
  fail "daemon ($1) did not start"
}
stop_daemon() {
  kill -TERM "$daemon"
  wait "$daemon" || fail "daemon did not stop cleanly"
}
expect() {  # description, command... : the command's output must match $want
  local what=$1; shift
  out=$("$@" 2>&1) || true
  echo "$out" | grep -Eq "$want" || fail "$what: wanted /$want/, got: $out"
  echo "ok: $what"
}

# ---- embedded ----
start_daemon embedded embedded
grep -q "portmapper: embedded on 127.0.0.1:111" "$tmp/embedded.log" ||
  fail "embedded portmapper not reported"
want='100003 +3 +tcp +2049' expect "PMAP DUMP lists NFS/TCP" rpcinfo -p 127.0.0.1
want='100005 +3 +udp +2049' expect "PMAP DUMP lists MOUNT/UDP" rpcinfo -p 127.0.0.1
want='100000 +4 +tcp +111' expect "PMAP DUMP lists the portmapper" rpcinfo -p 127.0.0.1
want='100003 +3 +tcp +127\.0\.0\.1\.8\.1 ' expect "RPCBIND DUMP (universal addresses)" rpcinfo 127.0.0.1
want='program 100003 version 3 ready and waiting' \
  expect "NFS NULL over TCP via GETADDR" rpcinfo -T tcp 127.0.0.1 100003 3
want='program 100005 version 3 ready and waiting' \
  expect "MOUNT NULL over UDP" rpcinfo -T udp 127.0.0.1 100005 3
want='program 100003 version 2 is not available' \
  expect "NFS version 2: PROG_MISMATCH" rpcinfo -T tcp 127.0.0.1 100003 2
want='(program 100099 is not available|Program not registered)' \
  expect "unregistered program" rpcinfo -T tcp 127.0.0.1 100099
echo data > "$tmp/f"
nfs-cp "$tmp/f" "nfs://127.0.0.1//f?version=3" > /dev/null ||
  fail "nfs-cp via the embedded portmapper"
want='^-.* f$' expect "nfs-ls finds the ports by itself" nfs-ls "nfs://127.0.0.1/?version=3"
stop_daemon

# ---- system rpcbind ----
mkdir -p /run/rpcbind
rpcbind -f -w > "$tmp/rpcbind.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do rpcinfo -p 127.0.0.1 > /dev/null 2>&1 && break; sleep 0.05; done
start_daemon system system
grep -q "registered with the system rpcbind" "$tmp/system.log" ||
  fail "not registered with rpcbind"
want='100003 +3 +tcp +2049' expect "rpcbind lists NFS" rpcinfo -p 127.0.0.1
want='100005 +1 +udp +2049' expect "rpcbind lists MOUNT v1" rpcinfo -p 127.0.0.1
want='^-.* f$' expect "nfs-ls through the system rpcbind" nfs-ls "nfs://127.0.0.1/?version=3"
stop_daemon
out=$(rpcinfo -p 127.0.0.1)
echo "$out" | grep -Eq '10000[35] ' && fail "registrations left after stop: $out"
echo "ok: unregistered at stop"

# ---- auto picks the running rpcbind ----
start_daemon auto auto
grep -q "registered with the system rpcbind" "$tmp/auto.log" ||
  fail "auto did not use the running rpcbind"
echo "ok: auto registers with a running rpcbind"
stop_daemon
echo "PASS"
