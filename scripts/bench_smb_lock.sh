#!/usr/bin/env bash
# SMB2 byte-range locks served by concordfs against Samba's smbd, in one run,
# with the same client for both (scripts/bench_smb_lock.py: impacket for the
# session, LOCK requests on the socket; dialect 3.0, no signing, no
# encryption, over 127.0.0.1):
#   - LOCK+UNLOCK pairs/s on one open, one request at a time, for 5 s; and
#     the same with 4 processes at once (own connection, own range each);
#   - the time from a local unlock to the final response of a blocked SMB
#     LOCK: a local process holds an fcntl write lock on the file through the
#     server's backing path (concordfs: its FUSE mount; Samba: the directory
#     it shares, as Samba maps SMB locks onto POSIX locks), a blocking SMB
#     LOCK on the same range goes pending, the local process unlocks 20 ms
#     later; median and p99 of 200 waits (each capped at 5 s, at most 60 s of
#     waiting per run).
# Prints medians of REPS runs (the order of the servers alternates) and the
# ratio concordfs/Samba for pairs/s: > 1 means concordfs is better.
#
# concordfs: the RelWithDebInfo build, sync: batch, SMB and the FUSE mount
# (no NFS). Samba: Debian's smbd (installed here if missing) with a stock
# configuration (posix locking on, the default), sharing a native directory.
# Both keep their data in one directory on the same filesystem
# (BENCH_SMB_DIR, default /var/tmp). Only the processes started here are
# stopped, by their PIDs.
#
#   scripts/bench_smb_lock.sh BUILD_DIR [REPS]     (REPS: BENCH_RUNS, else 3)
set -euo pipefail
source "$(dirname "$0")/samba_conf.sh"
source "$(dirname "$0")/peer_lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
reps=${BENCH_RUNS:-${2:-3}}
daemon=$build/daemon/concordfs
[ -x "$daemon" ] || { echo "bench_smb_lock: $daemon is missing: build it first" >&2; exit 1; }

ensure_packages bench_smb_lock samba smbclient python3 python3-impacket fuse3
# impacket is installed for Debian's interpreter.
py=/usr/bin/python3
[ -x "$py" ] || py=python3

data_root=${BENCH_SMB_DIR:-/var/tmp}
tmp=$(mktemp -d "$data_root/cfs-slbench-XXXXXX")
mnt=$tmp/mnt
declare -A pid=()
stop() {  # pid: TERM, up to 10 s, then KILL
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  set +e
  for p in "${pid[@]}"; do stop "$p"; done
  mountpoint -q "$mnt" 2>/dev/null && umount -l "$mnt"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {  # message log
  echo "bench_smb_lock: $1" >&2
  [ -f "${2:-}" ] && tail -n 20 "$2" >&2
  exit 1
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
declare -A port=([concordfs]=$(free_port) [samba]=$(free_port))
password=Bench-1
user=alice%$password
ready() {  # server
  timeout 10 smbclient -L 127.0.0.1 -p "${port[$1]}" -U "$user" -m SMB3_11 > /dev/null 2>&1
}
wait_ready() {  # server: 0 when serving within 15 s
  local end=$((SECONDS + 15))
  while ((SECONDS < end)); do
    kill -0 "${pid[$1]}" 2>/dev/null || return 1
    if [ "$1" = concordfs ]; then mountpoint -q "$mnt" || { sleep 0.1; continue; }; fi
    ready "$1" && return 0
    sleep 0.1
  done
  return 1
}

# Samba: private state under $tmp, loopback only, alice mapped to root.
s=$tmp/samba
mkdir -p "$s/share"
echo "root = alice" > "$s/users.map"
{
  samba_global "$s" "${port[samba]}" SAMBALOCK "server signing = auto" \
    "server smb encrypt = off" "log level = 0"
  cat <<EOF
[share]
  path = $s/share
  read only = no
  # The default, spelled out: SMB locks are also taken as POSIX (fcntl)
  # locks on the file, so local processes see them and they see local ones.
  posix locking = yes
EOF
} > "$s/smb.conf"
printf '%s\n%s\n' "$password" "$password" |
  pdbedit -a -t -u root -b "tdbsam:$s/passdb.tdb" -s "$s/smb.conf" > /dev/null
# smbd signals its whole process group when it exits: a group of its own
# (setsid execs smbd, so $! is smbd's PID).
setsid smbd --foreground --no-process-group --debug-stdout -s "$s/smb.conf" \
  > "$tmp/samba.log" 2>&1 < /dev/null &
pid[samba]=$!
wait_ready samba || fail "smbd did not serve on 127.0.0.1:${port[samba]}" "$tmp/samba.log"

# concordfs: SMB and the FUSE mount, sync: batch, data on the same filesystem.
mkdir -p "$tmp/cfs-data" "$mnt"
cat > "$tmp/concordfs.yaml" <<EOF
data_dir: $tmp/cfs-data
store: leveldb
sync: batch
log_level: warn
locks: {grace_period: 0}
mount: {enabled: true, path: $mnt}
nfs: {enabled: false}
smb:
  enabled: true
  address: 127.0.0.1
  port: ${port[concordfs]}
  server_name: CONCORDFS
  signing: enabled
  encryption: off
  users:
    - {name: alice, password: "$password", uid: 0, gid: 0}
  shares:
    - {name: share, path: /, read_only: false}
EOF
"$daemon" --config "$tmp/concordfs.yaml" > "$tmp/concordfs.log" 2>&1 < /dev/null &
pid[concordfs]=$!
servers=(concordfs samba)
cfs_missing=
if ! wait_ready concordfs; then
  if kill -0 "${pid[concordfs]}" 2>/dev/null; then
    cfs_missing="no SMB answer or mount within 15 s: $(tail -c 300 "$tmp/concordfs.log")"
    stop "${pid[concordfs]}"
  else
    wait "${pid[concordfs]}" && st=0 || st=$?
    cfs_missing="the daemon exited with status $st: $(head -c 300 "$tmp/concordfs.log")"
  fi
  unset 'pid[concordfs]'
  servers=(samba)
fi

# The file locked, through each server's backing path.
declare -A local_dir=([concordfs]=$mnt [samba]=$s/share)
for sv in "${servers[@]}"; do
  head -c 65536 /dev/zero > "${local_dir[$sv]}/lockfile"
done

mkdir -p "$tmp/results"
bench() {  # server mode args...: prints the result line
  "$py" "$here/bench_smb_lock.py" "$2" --port "${port[$1]}" --password "$password" \
    "${@:3}" 2> "$tmp/err" || {
    local log=$tmp/$1.log
    fail "$1: bench_smb_lock.py $2: $(tail -n 3 "$tmp/err")" "$log"
  }
}
run_one() {  # server
  local sv=$1 line
  line=$(bench "$sv" pairs --seconds 5)
  echo "pairs1 ${line#pairs }" >> "$tmp/results/$sv"
  line=$(bench "$sv" pairs --seconds 5 --procs 4)
  echo "pairs4 ${line#pairs }" >> "$tmp/results/$sv"
  line=$(bench "$sv" wakeup --local-path "${local_dir[$sv]}/lockfile" \
    --iterations 200 --hold 20 --cap 5 --budget 60)
  echo "${line}" >> "$tmp/results/$sv"
}

for ((rep = 1; rep <= reps; rep++)); do
  order=("${servers[@]}")
  if ((rep % 2 == 0)) && [ ${#servers[@]} -eq 2 ]; then
    order=(samba concordfs)
  fi
  for sv in "${order[@]}"; do
    run_one "$sv"
  done
done

python3 - "$tmp/results" "$reps" "$data_root" "$cfs_missing" <<'PY'
import os, statistics, sys
folder, reps, where, missing = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
values = {}
for server in ("concordfs", "samba"):
    path = os.path.join(folder, server)
    if not os.path.exists(path):
        continue
    for line in open(path):
        f = line.split()
        if f[0] == "wakeup":
            values.setdefault((server, "p50"), []).append(float(f[1]))
            values.setdefault((server, "p99"), []).append(float(f[2]))
            values.setdefault((server, "n"), []).append(int(f[3]))
            values.setdefault((server, "capped"), []).append(int(f[4]))
        else:
            values.setdefault((server, f[0]), []).append(float(f[1]))

def median(server, name):
    v = values.get((server, name))
    return statistics.median_low(v) if v else None

def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}" if v < 1000 else f"{v:.0f}"

print(f"\nSMB2 byte-range locks (dialect 3.0, no signing, 127.0.0.1): "
      f"concordfs vs Samba, medians of {reps} runs")
print(f"{'workload':<26} {'concordfs':>10} {'samba':>10} {'ratio':>7}  unit")
for name, label in (("pairs1", "lock+unlock, 1 client"),
                    ("pairs4", "lock+unlock, 4 clients")):
    c, s = median("concordfs", name), median("samba", name)
    ratio = f"{c / s:.2f}" if c and s else "-"
    print(f"{label:<26} {fmt(c):>10} {fmt(s):>10} {ratio:>7}  pairs/s")
for name, label in (("p50", "wakeup after local unlock"), ("p99", "  p99")):
    c, s = median("concordfs", name), median("samba", name)
    print(f"{label:<26} {fmt(c, 3):>10} {fmt(s, 3):>10} {'':>7}  ms"
          + ("  (median)" if name == "p50" else ""))
for name, label in (("pairs1", "1 client"), ("pairs4", "4 clients")):
    runs = "; ".join(server + " " + " ".join(fmt(v) for v in values[(server, name)])
                     for server in ("concordfs", "samba") if (server, name) in values)
    print(f"  pairs/s per run, {label}: {runs}")
for server in ("concordfs", "samba"):
    n, capped = values.get((server, "n")), values.get((server, "capped"))
    if n and (min(n) < 200 or max(capped) > 0):
        print(f"  {server}: {min(n)}-{max(n)} waits per run (60 s budget), "
              f"{max(capped)} at most hit the 5 s cap (counted as 5 s)")
print("pairs: LOCK exclusive (FAIL_IMMEDIATELY) + UNLOCK of one range, one "
      "request at a time per connection,\n5 s; 4 clients: 4 processes, own "
      "connection and range each, same file. wakeup: a local fcntl\nwrite lock "
      "through the backing path (concordfs: FUSE mount; Samba: its shared "
      "directory) blocks a\nblocking SMB LOCK (interim STATUS_PENDING); 20 ms "
      "later the local process unlocks; time from\njust before the unlock call "
      "to the final LOCK response; median and p99 of 200 waits per run.\n"
      f"Both servers' data on the same filesystem ({where}); concordfs: "
      "sync: batch, SMB + FUSE mount; Samba: stock smbd.")
if missing:
    print("concordfs: n/a (SMB front end or mount not available)")
    print(f"  ({missing.strip()})")
PY
