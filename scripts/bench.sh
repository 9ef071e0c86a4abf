#!/usr/bin/env bash
# Runs the benchmarks against concordfs and, in the same run, against the
# peers, and prints medians side by side with ratios.
#
# Now: vfs operations on the LevelDB backend vs the same syscalls on the
# native filesystem (same disk), the lock manager on its own (no peer runs
# a comparable in-process lock table), and the FUSE mount vs a native
# directory (scripts/bench_fuse.sh), NFS vs NFS-Ganesha
# (scripts/bench_nfs.sh), SMB vs Samba (scripts/bench_smb.sh) and SMB
# byte-range locks vs Samba (scripts/bench_smb_lock.sh).
#
#   scripts/bench.sh [REPETITIONS]     (default 5; medians are reported)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
scripts/setup.sh > /dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCONCORDFS_BUILD_TESTS=OFF -DCONCORDFS_BUILD_BENCH=ON > /dev/null
ninja -C build/release vfs_bench lock_bench > /dev/null
out=$(mktemp /tmp/cfs-bench-XXXXXX.json)
lock_out=$(mktemp /tmp/cfs-bench-XXXXXX.json)
trap 'rm -f "$out" "$lock_out"' EXIT
run() {  # binary output
  "build/release/bench/$1" --benchmark_repetitions="$reps" \
    --benchmark_report_aggregates_only=true --benchmark_format=json \
    --benchmark_out="$2" --benchmark_out_format=json > /dev/null
}
run vfs_bench "$out"
run lock_bench "$lock_out"
python3 scripts/bench_report.py "$out" "$reps"
echo
python3 scripts/bench_report.py --locks "$lock_out" "$reps"
ninja -C build/release concordfs fs_meta_bench > /dev/null
scripts/bench_fuse.sh build/release "$reps"
ninja -C build/release nfs_bench nlm_bench > /dev/null && scripts/bench_nfs.sh build/release "$reps"
scripts/bench_smb.sh build/release "$reps"
scripts/bench_smb_lock.sh build/release "$reps"
