#!/usr/bin/env bash
# The daemon as a user meets it: help, config validation with file:line
# errors, start on a data directory, refusal of a second instance on the
# same data, clean stop on SIGINT and SIGTERM (also with a file held open
# on the mount), fsck afterwards.
#
#   daemon_cli_test.sh CONCORDFS_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d /tmp/cfs-cli-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  mountpoint -q "$tmp/mnt" 2>/dev/null && umount -l "$tmp/mnt"
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" --help | grep -q "usage:" || fail "--help"
"$bin" --check-config --config "$src/daemon/concordfs.yaml" | grep -q "configuration OK" \
  || fail "shipped config not valid"

printf 'data_dir: x\nsync: sometimes\n' > "$tmp/bad.yaml"
set +e
out=$("$bin" --check-config --config "$tmp/bad.yaml" 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad config exit code $rc"
echo "$out" | grep -q "bad.yaml:2:7: bad value 'sometimes' for 'sync'" || fail "bad config message: $out"

set +e
"$bin" --no-such-flag > /dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "unknown flag exit code $rc"

"$bin" --print-config --data-dir "$tmp/data" | grep -q "data_dir: \"$tmp/data\"" || fail "--print-config"

wait_for() {  # file pattern
  for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# Start, refuse a second instance, stop with SIGINT.
"$bin" --data-dir "$tmp/data" --mount-path "$tmp/mnt" --no-nfs --no-smb > "$tmp/d1.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$tmp/d1.log" "running" || { cat "$tmp/d1.log"; fail "daemon did not start"; }
grep -q "leveldb:$tmp/data/metadata" "$tmp/d1.log" || fail "daemon does not say what it serves"
wait_for "$tmp/d1.log" "mounted at $tmp/mnt" || { cat "$tmp/d1.log"; fail "no mount"; }
mountpoint -q "$tmp/mnt" || fail "mount point not mounted"
echo hello > "$tmp/mnt/greeting" || fail "write through the mount"
[ "$(cat "$tmp/mnt/greeting")" = hello ] || fail "read through the mount"
set +e
"$bin" --data-dir "$tmp/data" --mount-path "$tmp/mnt2" --no-nfs --no-smb > "$tmp/d2.log" 2>&1; rc=$?
set -e
[ "$rc" -eq 3 ] || fail "second instance exit code $rc"
grep -q "in use by another process" "$tmp/d2.log" || { cat "$tmp/d2.log"; fail "second instance message"; }
kill -INT "$pid"
wait "$pid" || fail "daemon exit code after SIGINT: $?"
grep -q "stopped cleanly" "$tmp/d1.log" || fail "no clean stop"
mountpoint -q "$tmp/mnt" && fail "still mounted after stop"

# Restart on the same data (the store reopens), stop with SIGTERM while a
# process still has a file open on the mount: the stop does not wait for
# it, and what the file held when the daemon stopped is kept.
"$bin" --data-dir "$tmp/data" --mount-path "$tmp/mnt" --no-nfs --no-smb > "$tmp/d3.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$tmp/d3.log" "running" || { cat "$tmp/d3.log"; fail "restart"; }
wait_for "$tmp/d3.log" "mounted at $tmp/mnt" || { cat "$tmp/d3.log"; fail "no mount"; }
exec 3> "$tmp/mnt/held"
printf 'held open\n' >&3
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid" || fail "daemon exit code after SIGTERM"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
exec 3>&-
[ "$ms" -lt 5000 ] || fail "stop took $ms ms with a file open"
grep -q "stopped cleanly" "$tmp/d3.log" || fail "no clean stop with a file open"
mountpoint -q "$tmp/mnt" && fail "still mounted after a stop with a file open"
"$bin" --data-dir "$tmp/data" --mount-path "$tmp/mnt" --no-nfs --no-smb > "$tmp/d4.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$tmp/d4.log" "mounted at $tmp/mnt" || { cat "$tmp/d4.log"; fail "third start"; }
[ "$(cat "$tmp/mnt/held")" = "held open" ] || fail "file held open at the stop: $(cat "$tmp/mnt/held")"
kill -TERM "$pid"
wait "$pid" || fail "daemon exit code after the last SIGTERM"

"$bin" fsck --data-dir "$tmp/data" | grep -q "consistent" || fail "fsck after clean stop"
echo "daemon cli: ok"
