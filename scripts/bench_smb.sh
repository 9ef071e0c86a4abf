#!/usr/bin/env bash
# SMB3 served by concordfs against Samba's smbd, in one run, with the same
# client for both: Samba's smbclient, dialect 3.1.1, no signing, no
# encryption, over 127.0.0.1. Workloads: put of a 1 GiB file and get of it
# (MiB/s), create 10,000 small files (4 KiB puts from one smbclient session
# reading a generated command list; files/s), list that directory (one `ls`
# session; entries/s), delete the 10,000 files (`del` with a mask; files/s).
# Prints medians of REPS runs (the order of the servers alternates) and the
# ratio concordfs/Samba: > 1 means concordfs is better.
#
# concordfs: the RelWithDebInfo build, sync: batch, SMB only (no FUSE mount,
# no NFS). Samba: Debian's smbd (installed here if missing) with a stock
# configuration, sharing a native directory. Both keep their data in one
# directory on the same filesystem (BENCH_SMB_DIR, default /var/tmp: the
# disk); the client's source file is in /dev/shm and get writes to
# /dev/null, so the client's disk is not measured. Only the processes
# started here are stopped, by their PIDs.
#
#   scripts/bench_smb.sh BUILD_DIR [REPS]     (REPS: BENCH_RUNS, else 3)
set -euo pipefail
source "$(dirname "$0")/samba_conf.sh"
source "$(dirname "$0")/peer_lib.sh"
build=$(cd "$1" && pwd)
reps=${BENCH_RUNS:-${2:-3}}
daemon=$build/daemon/concordfs
[ -x "$daemon" ] || { echo "bench_smb: $daemon is missing: build it first" >&2; exit 1; }

ensure_packages bench_smb samba smbclient python3

data_root=${BENCH_SMB_DIR:-/var/tmp}
tmp=$(mktemp -d "$data_root/cfs-sbench-XXXXXX")
client=$(mktemp -d /dev/shm/cfs-sbench-XXXXXX)
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
  rm -rf "$tmp" "$client"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {  # message log
  echo "bench_smb: $1" >&2
  [ -f "${2:-}" ] && tail -n 20 "$2" >&2
  exit 1
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
declare -A port=([concordfs]=$(free_port) [samba]=$(free_port))
user=alice%Bench-1
ready() {  # server
  timeout 10 smbclient -L 127.0.0.1 -p "${port[$1]}" -U "$user" -m SMB3_11 > /dev/null 2>&1
}
wait_ready() {  # server log: 0 when serving within 15 s
  local end=$((SECONDS + 15))
  while ((SECONDS < end)); do
    kill -0 "${pid[$1]}" 2>/dev/null || return 1
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
  samba_global "$s" "${port[samba]}" SAMBABENCH "server signing = auto" \
    "server smb encrypt = off" "log level = 0"
  cat <<EOF
[share]
  path = $s/share
  read only = no
EOF
} > "$s/smb.conf"
printf 'Bench-1\nBench-1\n' |
  pdbedit -a -t -u root -b "tdbsam:$s/passdb.tdb" -s "$s/smb.conf" > /dev/null
# smbd signals its whole process group when it exits: a group of its own
# (setsid execs smbd, so $! is smbd's PID).
setsid smbd --foreground --no-process-group --debug-stdout -s "$s/smb.conf" \
  > "$tmp/samba.log" 2>&1 < /dev/null &
pid[samba]=$!
wait_ready samba || fail "smbd did not serve on 127.0.0.1:${port[samba]}" "$tmp/samba.log"

# concordfs: SMB only, sync: batch, data on the same filesystem.
mkdir -p "$tmp/cfs-data"
cat > "$tmp/concordfs.yaml" <<EOF
data_dir: $tmp/cfs-data
store: leveldb
sync: batch
log_level: warn
locks: {grace_period: 0}
mount: {enabled: false}
nfs: {enabled: false}
smb:
  enabled: true
  address: 127.0.0.1
  port: ${port[concordfs]}
  server_name: CONCORDFS
  signing: enabled
  encryption: off
  users:
    - {name: alice, password: "Bench-1", uid: 0, gid: 0}
  shares:
    - {name: share, path: /, read_only: false}
EOF
"$daemon" --config "$tmp/concordfs.yaml" > "$tmp/concordfs.log" 2>&1 < /dev/null &
pid[concordfs]=$!
servers=(concordfs samba)
cfs_missing=
if ! wait_ready concordfs; then
  if kill -0 "${pid[concordfs]}" 2>/dev/null; then
    cfs_missing="no SMB answer within 15 s: $(tail -c 300 "$tmp/concordfs.log")"
    stop "${pid[concordfs]}"
  else
    wait "${pid[concordfs]}" && st=0 || st=$?
    cfs_missing="the daemon exited with status $st: $(head -c 300 "$tmp/concordfs.log")"
  fi
  unset 'pid[concordfs]'
  servers=(samba)
fi

# The client's files: 1 GiB of random bytes, a 4 KiB file, and the command
# lists of the create workload.
big_mib=1024
files=10000
head -c $((big_mib * 1024 * 1024)) /dev/urandom > "$client/big"
head -c 4096 /dev/urandom > "$client/small"

smbc() {  # server, then smbclient arguments; output in $tmp/out
  timeout 1800 smbclient //127.0.0.1/share -p "${port[$1]}" -U "$user" -m SMB3_11 \
    --client-protection=off "${@:2}" > "$tmp/out" 2>&1
}
now() { date +%s.%N; }
mkdir -p "$tmp/results"
record() {  # server name value unit
  echo "$2 $3 $4" >> "$tmp/results/$1"
}
run_one() {  # server rep
  local sv=$1 rep=$2 d="bench$2" t0 t1 log=$tmp/$1.log
  [ "$sv" = samba ] && log=$tmp/samba.log

  t0=$(now)
  smbc "$sv" -c "put $client/big big$rep" || fail "$sv: put of 1 GiB failed: $(tail -n 3 "$tmp/out")" "$log"
  t1=$(now)
  grep -q NT_STATUS "$tmp/out" && fail "$sv: put: $(grep NT_STATUS "$tmp/out" | head -n 3)" "$log"
  record "$sv" put "$(echo "$big_mib / ($t1 - $t0)" | bc -l)" MiB/s

  t0=$(now)
  smbc "$sv" -c "get big$rep /dev/null" || fail "$sv: get of 1 GiB failed: $(tail -n 3 "$tmp/out")" "$log"
  t1=$(now)
  grep -q NT_STATUS "$tmp/out" && fail "$sv: get: $(grep NT_STATUS "$tmp/out" | head -n 3)" "$log"
  grep -q "of size $((big_mib * 1024 * 1024)) as" "$tmp/out" ||
    fail "$sv: get did not fetch $big_mib MiB: $(tail -n 3 "$tmp/out")" "$log"
  record "$sv" get "$(echo "$big_mib / ($t1 - $t0)" | bc -l)" MiB/s
  smbc "$sv" -c "del big$rep" || true

  smbc "$sv" -c "mkdir $d" || fail "$sv: mkdir $d" "$log"
  { for ((i = 0; i < files; i++)); do echo "put $client/small $d\\f$i"; done; } > "$tmp/cmds"
  t0=$(now)
  smbc "$sv" < "$tmp/cmds" || true
  t1=$(now)
  grep -q NT_STATUS "$tmp/out" && fail "$sv: create: $(grep NT_STATUS "$tmp/out" | head -n 3)" "$log"
  record "$sv" create "$(echo "$files / ($t1 - $t0)" | bc -l)" files/s

  t0=$(now)
  smbc "$sv" -c "ls $d\\*" || fail "$sv: ls $d failed: $(tail -n 3 "$tmp/out")" "$log"
  t1=$(now)
  local n
  n=$(grep -Ec '^  f[0-9]+ ' "$tmp/out" || true)
  [ "$n" -eq "$files" ] || fail "$sv: ls shows $n files, expected $files" "$log"
  record "$sv" list "$(echo "($t1 - $t0) * 1000" | bc -l)" ms

  t0=$(now)
  smbc "$sv" -c "del $d\\*" || fail "$sv: del $d\\* failed: $(tail -n 3 "$tmp/out")" "$log"
  t1=$(now)
  grep -q NT_STATUS "$tmp/out" && fail "$sv: del: $(grep NT_STATUS "$tmp/out" | head -n 3)" "$log"
  record "$sv" delete "$(echo "$files / ($t1 - $t0)" | bc -l)" files/s
  smbc "$sv" -c "rmdir $d" || fail "$sv: rmdir $d after deleting its files: $(tail -n 3 "$tmp/out")" "$log"
}

for ((rep = 1; rep <= reps; rep++)); do
  order=("${servers[@]}")
  if ((rep % 2 == 0)) && [ ${#servers[@]} -eq 2 ]; then
    order=(samba concordfs)
  fi
  for sv in "${order[@]}"; do
    run_one "$sv" "$rep"
  done
done

python3 - "$tmp/results" "$reps" "$data_root" "$cfs_missing" <<'PY'
import os, statistics, sys
folder, reps, where, missing = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
values, units = {}, {}
for server in ("concordfs", "samba"):
    path = os.path.join(folder, server)
    if not os.path.exists(path):
        continue
    for line in open(path):
        name, value, unit = line.split()
        units[name] = unit
        values.setdefault((server, name), []).append(float(value))

def median(server, name):
    v = values.get((server, name))
    return statistics.median_low(v) if v else None

def fmt(v):
    return "n/a" if v is None else f"{v:.1f}" if v < 1000 else f"{v:.0f}"

labels = {"put": "put 1 GiB", "get": "get 1 GiB", "create": "create 10k",
          "list": "list 10k", "delete": "delete 10k"}
print(f"\nSMB 3.1.1 through smbclient (no signing, no encryption, 127.0.0.1): "
      f"concordfs vs Samba, medians of {reps} runs")
print(f"{'workload':<12} {'concordfs':>10} {'samba':>10} {'ratio':>7}  unit")
for name in ("put", "get", "create", "list", "delete"):
    c, s = median("concordfs", name), median("samba", name)
    ratio = "-"
    if c and s:
        ratio = f"{(s / c if name == 'list' else c / s):.2f}"
    print(f"{labels[name]:<12} {fmt(c):>10} {fmt(s):>10} {ratio:>7}  {units.get(name, '')}")
print("put/get: one smbclient session each, timed from start to exit (client "
      "file in /dev/shm, get to /dev/null);\ncreate: 10,000 puts of 4 KiB from "
      "one session's command list; list: one `ls` session of those 10,000\n"
      "(ms, lower is better); delete: `del DIR\\*` in one session. Sessions "
      "include connecting and logging on.\nratio > 1: concordfs is better "
      "(throughputs: concordfs/samba; list: samba/concordfs).\n"
      f"Both servers' data on the same filesystem ({where}); concordfs: "
      "sync: batch, SMB only; Samba: stock smbd.")
if missing:
    print("concordfs: n/a (SMB front end not available)")
    print(f"  ({missing.strip()})")
PY
