#!/usr/bin/env bash
# NFSv3 served by concordfs against NFS-Ganesha (FSAL VFS on a native
# directory of the same disk), in one run, measured with bench/nfs_bench (a
# libnfs client: one TCP connection, 16 requests in flight): sequential 1 GiB
# write (1 MiB UNSTABLE writes, then COMMIT) and read, 4 KiB random read and
# write, create/getattr/remove of 10,000 files, READDIRPLUS listing of 10,000
# entries. Prints medians of REPS runs and the ratio concordfs/ganesha.
#
# Everything that touches the network runs in a private network namespace
# with only loopback up; rpcbind, rpc.statd and ganesha also get a private
# /run (so they neither meet nor leave behind the host's sockets and pid
# files). Only the processes started here are stopped, by their PIDs.
#
#   scripts/bench_nfs.sh BUILD_DIR REPS
set -euo pipefail
build=$(cd "$1" && pwd)
reps=${2:-3}
bench=$build/bench/nfs_bench
daemon=$build/daemon/concordfs
for f in "$bench" "$daemon"; do
  [ -x "$f" ] || { echo "bench_nfs: $f is missing: build it first" >&2; exit 1; }
done

packages=(nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-dev iproute2
  util-linux python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench_nfs: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi

ns=cfsnfsbench$$
tmp=$(mktemp -d /var/tmp/cfs-nbench-XXXXXX)
pids=()   # started here, stopped in reverse order
cfs_pid=
declare -A cfs_pids=()  # concordfs daemons by name
ns_made=
stop() {  # pid: TERM, up to 5 s, then KILL
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  for p in "${cfs_pids[@]}"; do stop "$p"; done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  [ -n "$ns_made" ] && ip netns del "$ns"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
ns_made=1
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }
# Prefixes that start a daemon in the namespace (private_run: also with a
# private, empty /run). Each step execs the next, so $! of `"${prefix[@]}"
# daemon ... &` is the daemon's own PID (a shell function would put a
# subshell in between).
ns_run=(ip netns exec "$ns")
private_run=("${ns_run[@]}" unshare --mount --propagation private
  sh -c 'mount -t tmpfs cfs-nbench-run /run && exec "$@"' sh)
fail() {  # message log
  echo "bench_nfs: $1" >&2
  [ -f "$2" ] && tail -n 20 "$2" >&2
  exit 1
}
wait_for() {  # seconds pid log description command...
  local secs=$1 pid=$2 log=$3 what=$4 end=$((SECONDS + $1)); shift 4
  while ((SECONDS < end)); do
    kill -0 "$pid" 2>/dev/null || fail "$what exited" "$log"
    "$@" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "$what did not answer within $secs s" "$log"
}

# rpcbind (ganesha will not start without it) and rpc.statd (ganesha's NLM
# refuses locks without it), both on loopback of the namespace only.
"${private_run[@]}" rpcbind -f > "$tmp/rpcbind.log" 2>&1 &
pids+=($!)
wait_for 10 "${pids[-1]}" "$tmp/rpcbind.log" rpcbind in_ns rpcinfo -p 127.0.0.1
mkdir -p "$tmp/statd/sm" "$tmp/statd/sm.bak"
"${private_run[@]}" rpc.statd -F -d -L -P "$tmp/statd" > "$tmp/statd.log" 2>&1 &
pids+=($!)
wait_for 10 "${pids[-1]}" "$tmp/statd.log" rpc.statd \
  sh -c "ip netns exec $ns rpcinfo -p 127.0.0.1 | grep -qw status"

# NFS-Ganesha. Bind_addr stays at its default (any): ganesha resolves the
# address with AI_ADDRCONFIG, which finds no IPv4 address in a namespace
# that has only loopback, so "127.0.0.1" is refused there; any address in
# this namespace is loopback anyway. Graceless: no 90 s grace period at
# start. An NFSv3 MOUNT names the export's Path, not its Pseudo path.
mkdir -p "$tmp/ganesha-export" "$tmp/cfs-data"
cat > "$tmp/ganesha.conf" <<EOF
NFS_CORE_PARAM {
  Protocols = 3;
  NFS_Port = 2049;
  MNT_Port = 20048;
  NLM_Port = 32803;
  Enable_RQUOTA = false;
}
NFSV4 {
  Graceless = true;
  RecoveryRoot = "$tmp/ganesha-recovery";
}
NFS_KRB5 {
  Active_krb5 = false;
}
EXPORT {
  Export_Id = 1;
  Path = "$tmp/ganesha-export";
  Pseudo = "/ganesha-export";
  Protocols = 3;
  Transports = TCP, UDP;
  SecType = sys;
  Access_Type = None;
  Squash = No_Root_Squash;
  CLIENT {
    Clients = 127.0.0.0/8;
    Access_Type = RW;
  }
  FSAL {
    Name = VFS;
  }
}
EOF
"${private_run[@]}" ganesha.nfsd -F -f "$tmp/ganesha.conf" -L "$tmp/ganesha.log" \
  -p "$tmp/ganesha.pid" -N NIV_EVENT > "$tmp/ganesha.out" 2>&1 &
pids+=($!)
declare -A url
url[ganesha]="nfs://127.0.0.1$tmp/ganesha-export?version=3&nfsport=2049&mountport=20048"
url[concordfs]="nfs://127.0.0.1/?version=3&nfsport=20490&mountport=20490"
probe() { in_ns timeout 10 "$bench" --probe --timeout 2 "$1"; }
wait_for 60 "${pids[-1]}" "$tmp/ganesha.log" ganesha.nfsd probe "${url[ganesha]}"

# concordfs, NFS front end only (no FUSE mount), same disk, twice:
#   concordfs      sync: batch -- namespace and attribute changes are on disk
#                  before the reply, as RFC 1813 requires;
#   concordfs_none sync: none  -- nothing synced before replies, the same
#                  durability as Ganesha's FSAL VFS (which never syncs
#                  metadata: ext4 commits its journal every few seconds).
url[concordfs_none]="nfs://127.0.0.1/?version=3&nfsport=20491&mountport=20491"
start_cfs() {  # name port sync
  mkdir -p "$tmp/$1-data"
  cat > "$tmp/$1.yaml" <<EOF
data_dir: $tmp/$1-data
store: leveldb
sync: $3
log_level: warn
mount:
  enabled: false
nfs:
  enabled: true
  address: 127.0.0.1
  port: $2          # NFS and MOUNT share this port, TCP and UDP
  portmapper: off
  exports:
    - path: /
      clients: ["127.0.0.0/8"]
      squash: none
EOF
  "${ns_run[@]}" "$daemon" --config "$tmp/$1.yaml" > "$tmp/$1.log" 2>&1 &
  cfs_pids[$1]=$!
}
start_cfs concordfs 20490 batch
cfs_pid=${cfs_pids[concordfs]}
start_cfs concordfs_none 20491 none
servers=(ganesha concordfs concordfs_none)
cfs_missing=
end=$((SECONDS + 10))
while ((SECONDS < end)); do  # ready: MOUNT and GETATTR of the root succeed
  if ! kill -0 "$cfs_pid" 2>/dev/null; then
    wait "$cfs_pid" && st=0 || st=$?
    cfs_missing="the daemon exited with status $st: $(head -c 300 "$tmp/concordfs.log")"
    cfs_pid=
    break
  fi
  probe "${url[concordfs]}" > /dev/null 2>&1 &&
    probe "${url[concordfs_none]}" > /dev/null 2>&1 && break
  sleep 0.1
done
if [ -z "$cfs_missing" ] && ! probe "${url[concordfs]}" > "$tmp/probe.log" 2>&1; then
  cfs_missing="no answer within 10 s: $(head -c 300 "$tmp/probe.log")"
fi
if [ -n "$cfs_missing" ]; then
  for p in "${cfs_pids[@]}"; do stop "$p"; done
  cfs_pids=()
  cfs_pid=
  servers=(ganesha)
fi

# Alternate which server goes first so that drift hits both alike.
mkdir -p "$tmp/results"
for ((rep = 1; rep <= reps; rep++)); do
  order=("${servers[@]}")
  if ((rep % 2 == 0)) && [ ${#servers[@]} -eq 3 ]; then
    order=(concordfs_none concordfs ganesha)
  fi
  for s in "${order[@]}"; do
    if ! in_ns timeout 900 "$bench" "${url[$s]}" >> "$tmp/results/$s" \
        2> "$tmp/bench.err"; then
      cat "$tmp/bench.err" >&2
      log=$tmp/ganesha.log; [ "$s" != ganesha ] && log=$tmp/$s.log
      fail "nfs_bench against $s failed (run $rep of $reps)" "$log"
    fi
  done
done

python3 - "$tmp/results" "$reps" "$cfs_missing" <<'PY'
import json, os, statistics, sys
folder, reps, missing = sys.argv[1], int(sys.argv[2]), sys.argv[3]
values, units, order = {}, {}, []
for server in ("concordfs", "ganesha", "concordfs_none"):
    path = os.path.join(folder, server)
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line)
        if r["name"] not in units:
            order.append(r["name"])
        units[r["name"]] = r["unit"]
        values.setdefault((server, r["name"]), []).append(r["value"])

def median(server, name):
    v = values.get((server, name))
    return statistics.median_low(v) if v else None

def fmt(v):
    return "n/a" if v is None else f"{v:.1f}" if v < 1000 else f"{v:.0f}"

print(f"\nNFSv3 through libnfs (1 TCP connection, 16 requests in flight): "
      f"concordfs vs NFS-Ganesha (FSAL VFS, same disk), medians of {reps} runs")
print(f"{'workload':<14} {'concordfs':>12} {'ganesha':>12} {'ratio':>7}"
      f" {'cfs sync:none':>14} {'ratio':>7}")
for name in order:
    c, g = median("concordfs", name), median("ganesha", name)
    n = median("concordfs_none", name)
    ratio = f"{c / g:.2f}" if c and g else "-"
    ratio_n = f"{n / g:.2f}" if n and g else "-"
    print(f"{name:<14} {fmt(c):>12} {fmt(g):>12} {ratio:>7} {fmt(n):>14}"
          f" {ratio_n:>7}  {units[name]}")
print("seqwrite and randwrite4k are timed to the end of their final COMMIT; "
      "create, getattr, remove\neach time one phase; meta: files per second "
      "over the three phases; ratio > 1: concordfs is faster.\n"
      "concordfs: sync: batch (namespace changes on disk before the reply, "
      "RFC 1813); cfs sync:none:\nno metadata sync before replies, the "
      "durability Ganesha's FSAL VFS gives (it never syncs metadata).")
if missing:
    print("concordfs: n/a (NFS front end not available)")
    print(f"  ({missing.strip()})")
PY
