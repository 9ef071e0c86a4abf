#!/usr/bin/env bash
# Kills a process writing to the real backend with SIGKILL at random moments,
# many times, and runs `concordfs fsck` after every kill: the store must
# always open consistent. Orphans (files unlinked while open) are allowed and
# must be reclaimed at the next start.
#
#   crash_test.sh CONCORDFS_BINARY CRASH_WORKLOAD_BINARY [ITERATIONS]
set -euo pipefail
concordfs=$1
workload=$2
iterations=${3:-${CRASH_ITERATIONS:-60}}

dir=$(mktemp -d /tmp/cfs-crash-XXXXXX)
trap 'rm -rf "$dir"' EXIT

orphans_seen=0
for ((i = 1; i <= iterations; i++)); do
  "$workload" "$dir" "$i" > "$dir.out" 2>&1 &
  pid=$!
  # Wait until it runs (past start-up and orphan reclaim; slow under ASan on a
  # loaded machine), then a random delay.
  for _ in $(seq 1 3000); do
    grep -q running "$dir.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  sleep "0.$(printf '%03d' $((RANDOM % 400 + 20)))"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if ! grep -q running "$dir.out"; then
    echo "iteration $i: workload did not start:"; cat "$dir.out"; exit 1
  fi
  if ! report=$("$concordfs" fsck --data-dir "$dir" 2>&1); then
    echo "iteration $i: INCONSISTENT after kill"
    echo "$report"
    exit 1
  fi
  n=$(echo "$report" | sed -n 's/.*orphans[^0-9]*\([0-9][0-9]*\).*/\1/p' | head -1)
  orphans_seen=$((orphans_seen + ${n:-0}))
done
rm -f "$dir.out"

# A repair pass reclaims the orphans of the last kill; the store is then clean.
"$concordfs" fsck --data-dir "$dir" --repair > /dev/null
final=$("$concordfs" fsck --data-dir "$dir")
echo "$final"
echo "$final" | grep -Eq 'orphans[^0-9]*0\b' || { echo "orphans left after repair"; exit 1; }
echo "crash test: $iterations kills, 0 inconsistencies, $orphans_seen orphans found after kills (reclaimed at next start)"
