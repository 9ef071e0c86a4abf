#!/usr/bin/env bash
# NFSv3 served by concordfs against NFS-Ganesha (FSAL VFS on a native
# directory of the same disk), in one run, measured with bench/nfs_bench (a
# libnfs client: one TCP connection, 16 requests in flight): sequential 1 GiB
# write (1 MiB UNSTABLE writes, then COMMIT) and read, 4 KiB random read and
# write, create/getattr/remove of 10,000 files, READDIRPLUS listing of 10,000
# entries. Prints medians of REPS runs and the ratio concordfs/ganesha.
#
# Then NLM v4 against the same servers, measured with bench/nlm_bench (libnfs's
# raw NLM calls on one TCP connection, and a GRANTED callback service of its
# own that it names in the namespace's rpcbind during its run): LOCK+UNLOCK
# pairs per second (one owner, and 16 owners in flight) while the client
# holds another lock (the server already monitors it) and while it holds none
# (a server that uses statd SM_MONs / SM_UNMONs it around each pair), and the
# wakeup latency of a blocked waiter, from the holder's release to the GRANTED
# callback: behind a local fcntl lock (concordfs: taken through its FUSE
# mount, on a second pair of daemons with the mount enabled; Ganesha: taken
# on the exported directory) and behind another NLM owner. A second table
# shows medians and ratios next to the targets (pairs >= 2x Ganesha, wakeup
# p99 < 2 ms). Without bench/nlm_bench the NLM part is skipped, with a note.
#
# Everything that touches the network runs in a private network namespace
# with only loopback up; rpcbind, rpc.statd and ganesha also get a private
# /run (so they neither meet nor leave behind the host's sockets and pid
# files). Only the processes started here are stopped, by their PIDs.
#
#   scripts/bench_nfs.sh BUILD_DIR REPS [PARTS]
#
# PARTS: comma-separated, from nfs,nlm (default both): `nlm` alone skips the
# nfs_bench workloads. NLM_WORKLOADS (environment), when set, replaces the
# NLM workload list (e.g. NLM_WORKLOADS=pairs for quick pair-rate runs; the
# wakeup rows then read n/a). LOCK_PERSIST (environment), when set, is the
# daemons' `locks.persist` (written, synced or behind); unset, they run with
# the default (written).
set -euo pipefail
build=$(cd "$1" && pwd)
reps=${2:-3}
parts=${3:-nfs,nlm}
case "${LOCK_PERSIST:-}" in
  ""|written|synced|behind) ;;
  *) echo "LOCK_PERSIST must be written, synced or behind" >&2; exit 2 ;;
esac
locks_yaml=
[ -z "${LOCK_PERSIST:-}" ] || locks_yaml="locks: {persist: $LOCK_PERSIST}"
want() { [[ ",$parts," == *",$1,"* ]]; }
bench=$build/bench/nfs_bench
nlm_bench=$build/bench/nlm_bench  # optional: the NLM table
daemon=$build/daemon/concordfs
for f in "$bench" "$daemon"; do
  [ -x "$f" ] || { echo "bench_nfs: $f is missing: build it first" >&2; exit 1; }
done

source "$(dirname "$0")/peer_lib.sh"
ensure_packages bench_nfs nfs-ganesha nfs-ganesha-vfs rpcbind nfs-common libnfs-dev iproute2 util-linux python3

ns=cfsnfsbench$$
tmp=$(mktemp -d /var/tmp/cfs-nbench-XXXXXX)
pids=()   # started here, stopped in reverse order
cfs_pid=
declare -A cfs_pids=()  # concordfs daemons by name
mounts=()  # their FUSE mount points
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
  for m in "${mounts[@]}"; do  # left mounted only by a daemon that was killed
    mountpoint -q "$m" && umount -l "$m"
  done
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

# NFS-Ganesha (scripts/peer_lib.sh: NFSv3 on 2049, no grace at start).
mkdir -p "$tmp/ganesha-export" "$tmp/cfs-data"
ganesha_conf "$tmp" "$tmp/ganesha-export" /ganesha-export > "$tmp/ganesha.conf"
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
start_cfs() {  # name port sync [FUSE mount point]
  local run=("${ns_run[@]}") mount="{enabled: false}"
  if [ -n "${4:-}" ]; then
    # The daemon joins only the namespace's network: `ip netns exec` would
    # give it a mount namespace of its own, hiding the mount from the bench
    # (whose own `ip netns exec` copies the host's mounts).
    run=(nsenter --net="/run/netns/$ns")
    mount="{enabled: true, path: \"$4\", allow_other: true}"
    mounts+=("$4")
  fi
  mkdir -p "$tmp/$1-data"
  cat > "$tmp/$1.yaml" <<EOF
data_dir: $tmp/$1-data
store: leveldb
sync: $3
log_level: warn
$locks_yaml
mount: $mount
smb: {enabled: false}
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
  "${run[@]}" "$daemon" --config "$tmp/$1.yaml" > "$tmp/$1.log" 2>&1 &
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
if want nfs; then
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
fi  # want nfs

# ---- NLM v4 (bench/nlm_bench) against the same servers ----
want nlm || exit 0
if [ ! -x "$nlm_bench" ]; then
  echo
  echo "NLM: skipped ($nlm_bench is missing: ninja -C BUILD_DIR nlm_bench)"
  exit 0
fi
declare -A nlm_port=([concordfs]=20490 [concordfs_none]=20491)
nlm_port[ganesha]=$(in_ns rpcinfo -p 127.0.0.1 |
  awk '$1 == 100021 && $2 == 4 && $3 == "tcp" { print $4; exit }')
nlm_failed=()
# Wakeup behind a local lock needs concordfs's FUSE mount: a second pair of
# daemons, the same but with the mount enabled (the NFS-only pair above keeps
# the NFS figures free of mount upkeep).
nlm_all=${NLM_WORKLOADS:-pairs,wakeup-nlm,wakeup-local}
nlm_has() { [[ ",$nlm_all," == *",$1,"* ]]; }
# concordfs: the local wakeup runs against the daemons with a FUSE mount.
nlm_cfs=$(tr ',' '\n' <<< "$nlm_all" | grep -vx wakeup-local | paste -sd, || true)
declare -A mnt_ok=()
if [ ${#servers[@]} -eq 3 ] && nlm_has wakeup-local; then
  url[concordfs_mnt]="nfs://127.0.0.1/?version=3&nfsport=20492&mountport=20492"
  url[concordfs_none_mnt]="nfs://127.0.0.1/?version=3&nfsport=20493&mountport=20493"
  nlm_port[concordfs_mnt]=20492
  nlm_port[concordfs_none_mnt]=20493
  start_cfs concordfs_mnt 20492 batch "$tmp/concordfs-mnt"
  start_cfs concordfs_none_mnt 20493 none "$tmp/concordfs_none-mnt"
  for s in concordfs concordfs_none; do
    end=$((SECONDS + 15))
    while ((SECONDS < end)); do
      kill -0 "${cfs_pids[${s}_mnt]}" 2>/dev/null || break
      if mountpoint -q "$tmp/$s-mnt" && probe "${url[${s}_mnt]}" > /dev/null 2>&1; then
        mnt_ok[$s]=1
        break
      fi
      sleep 0.1
    done
    [ -n "${mnt_ok[$s]:-}" ] || nlm_failed+=("$s with FUSE mount did not start: $(
      head -c 300 "$tmp/${s}_mnt.log")")
  done
fi

nlm_run() {  # server nlm_bench-arguments...: appends its figures to results
  local s=$1 out=$tmp/nlm-run.json; shift
  if in_ns timeout 300 "$nlm_bench" --register --label "$s" "$@" > "$out" \
      2> "$tmp/nlm-run.err"; then
    cat "$out" >> "$tmp/nlm-results/$s"
  else
    nlm_failed+=("$s: $(awk '!/^nlm_bench.*: [0-9]/' "$tmp/nlm-run.err" |
      tail -n 3 | tr '\n' ' ')")
  fi
}
# Ganesha notices a local unlock only when its blocked-lock poller runs
# (Blocked_Lock_Poller_Interval, 10 s by default): few iterations there, each
# after a random pause of 0-10 s, so that the unlock meets a random point of
# that cycle (pause plus wait is then about one cycle).
ganesha_local_iters=3
mkdir -p "$tmp/nlm-results"
statd_mon0=$(grep -c 'Received SM_MON for' "$tmp/statd.log" || true)
statd_unmon0=$(grep -c 'Received SM_UNMON for' "$tmp/statd.log" || true)
for ((rep = 1; rep <= reps; rep++)); do
  order=("${servers[@]}")
  if ((rep % 2 == 0)) && [ ${#servers[@]} -eq 3 ]; then
    order=(concordfs_none concordfs ganesha)
  fi
  for s in "${order[@]}"; do
    if [ "$s" = ganesha ]; then
      if [ -z "${nlm_port[ganesha]}" ]; then
        ((rep > 1)) || nlm_failed+=("ganesha: NLM v4 is not registered with rpcbind")
        continue
      fi
      nlm_run ganesha --nlm-port "${nlm_port[ganesha]}" --workloads "$nlm_all" \
        --local-dir "$tmp/ganesha-export" --local-iterations "$ganesha_local_iters" \
        --pause-max 10 --wait-timeout 15 "${url[ganesha]}"
    else
      if [ -n "$nlm_cfs" ]; then
        nlm_run "$s" --nlm-port "${nlm_port[$s]}" --workloads "$nlm_cfs" \
          "${url[$s]}"
      fi
      if [ -n "${mnt_ok[$s]:-}" ] && nlm_has wakeup-local; then
        nlm_run "$s" --nlm-port "${nlm_port[${s}_mnt]}" --workloads wakeup-local \
          --local-dir "$tmp/$s-mnt" "${url[${s}_mnt]}"
      fi
    fi
  done
done
statd_mon=$(($(grep -c 'Received SM_MON for' "$tmp/statd.log" || true) - statd_mon0))
statd_unmon=$(($(grep -c 'Received SM_UNMON for' "$tmp/statd.log" || true) - statd_unmon0))

python3 - "$tmp/nlm-results" "$reps" "$ganesha_local_iters" "$statd_mon" \
  "$statd_unmon" <<'PY'
import json, math, os, statistics, sys
folder, reps, g_local, mon, unmon = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
persist = os.environ.get("LOCK_PERSIST") or "written (default)"
values, units = {}, {}
for server in ("concordfs", "ganesha", "concordfs_none"):
    path = os.path.join(folder, server)
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line)
        units[r["name"]] = r["unit"]
        v = r["value"]
        values.setdefault((server, r["name"]), []).append(
            math.inf if v is None else v)

def median(server, name):
    v = values.get((server, name))
    return statistics.median_low(v) if v else None

def fmt(v):
    if v is None:
        return "n/a"
    if math.isinf(v):
        return "timeout"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"

rows = ["pairs_monitored", "pairs_unmonitored", "pairs16_monitored",
        "pairs16_unmonitored", "wakeup_local_p50", "wakeup_local_p99",
        "wakeup_nlm_p50", "wakeup_nlm_p99"]
rows += [n for n in ("wakeup_local_timeouts", "wakeup_nlm_timeouts")
         if any(x for k, v in values.items() if k[1] == n for x in v)]
print(f"\nNLM v4 through libnfs (1 TCP connection; GRANTED callbacks to the "
      f"bench's own NLM service): concordfs vs NFS-Ganesha, medians of {reps} "
      f"runs; concordfs locks.persist: {persist}")
print(f"{'workload':<20} {'concordfs':>10} {'ganesha':>10} {'ratio':>7}"
      f" {'cfs sync:none':>14} {'ratio':>7}  {'unit':<8} target: met? "
      f"(batch / none)")
for name in rows:
    c, g = median("concordfs", name), median("ganesha", name)
    n = median("concordfs_none", name)
    latency = name.startswith("wakeup") and not name.endswith("timeouts")
    def ratio(x):
        if x is None or g is None or name.endswith("timeouts"):
            return None
        if latency:  # > 1: concordfs wakes sooner
            return None if math.isinf(x) else math.inf if x == 0 else g / x
        return x / g if g else None
    rc, rn = ratio(c), ratio(n)
    fr = lambda r: "-" if r is None else ">1000" if r > 1000 else f"{r:.2f}"
    target = ""
    def met(ok):
        return "n/a" if ok is None else "yes" if ok else "NO"
    if name.startswith("pairs"):
        target = (f">= 2x ganesha: {met(None if rc is None else rc >= 2)} / "
                  f"{met(None if rn is None else rn >= 2)}")
    elif name.endswith("_p99"):
        target = (f"< 2 ms: {met(None if c is None else c < 2)} / "
                  f"{met(None if n is None else n < 2)}")
    print(f"{name:<20} {fmt(c):>10} {fmt(g):>10} {fr(rc):>7} {fmt(n):>14}"
          f" {fr(rn):>7}  {units.get(name, ''):<8} {target}".rstrip())
print("pairs: LOCK (exclusive, non-blocking, a distinct 16-byte range each "
      "time) + UNLOCK on one file, 2 s each; monitored:\n"
      "the client holds a lock on another file meanwhile; unmonitored: it "
      "holds none, so a server that uses statd\n"
      "SM_MONs / SM_UNMONs the host whenever its lock count leaves / returns "
      "to 0 (around every pair with one owner);\n"
      "pairs16: 16 owners (svids), one pair in flight each.\n"
      "wakeup: a blocked LOCK (NLM4_BLOCKED) behind a lock that is then "
      "released, until its GRANTED callback arrives;\n"
      "wakeup_local: the holder is a local fcntl lock (concordfs: through "
      "its FUSE mount, on a second daemon with the\n"
      "mount enabled, same sync mode; Ganesha: on the exported directory, "
      "which it notices only when its blocked-lock\n"
      f"poller runs, every 10 s by default: {g_local} iterations per run "
      "there, each unlocking at a random point of\n"
      "that cycle; 200 for concordfs); wakeup_nlm: the holder is another NLM "
      "owner that UNLOCKs (200 iterations).\n"
      "p50/p99: nearest rank within a run, then the median over runs. "
      "ratio > 1: concordfs is better (pairs: c/g;\n"
      f"latency: g/c). rpc.statd (Ganesha's NSM) handled {mon} SM_MON and "
      f"{unmon} SM_UNMON calls during the NLM runs.")
PY
if [ ${#nlm_failed[@]} -gt 0 ]; then
  echo "NLM runs that failed (their figures are missing above):" >&2
  printf '  %s\n' "${nlm_failed[@]}" >&2
  exit 1
fi
