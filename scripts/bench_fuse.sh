#!/usr/bin/env bash
# The FUSE mount against a native directory of the same disk, in one run:
# fio sequential 1 GiB write/read (1 MiB blocks; the read after dropping
# every page cache), 4 KiB random read (from memory: the file is read once
# first) and write (without fio's cache invalidation) with 1 and 2 jobs,
# fs_meta_bench (create+stat, unlink, readdir+lstat of 10,000 entries, fcntl
# lock+unlock, one getxattr round trip) and coreutils `ls -l` of 10,000
# files just created and again 11 s later, when the mount's cached names
# have expired (ls also asks every entry's security.selinux xattr, which the
# kernel does not cache for FUSE). Prints medians of REPS runs and the ratio
# mount/native. Runs as root (drops the page caches).
#
#   scripts/bench_fuse.sh BUILD_DIR REPS
set -euo pipefail
build=$1
reps=${2:-3}
tmp=$(mktemp -d /var/tmp/cfs-fbench-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  mountpoint -q "$tmp/mnt" 2>/dev/null && umount -l "$tmp/mnt"
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/native"
"$build/daemon/concordfs" --data-dir "$tmp/data" --mount-path "$tmp/mnt" --no-nfs --no-smb \
  > "$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do mountpoint -q "$tmp/mnt" && break; sleep 0.1; done
mountpoint -q "$tmp/mnt" || { cat "$tmp/daemon.log"; exit 1; }

fio_run() {  # dir name args... -> prints MB/s or IOPS
  local dir=$1 name=$2; shift 2
  fio --name="$name" --directory="$dir" --output-format=json "$@" \
    > "$tmp/fio.json" 2> /dev/null
  python3 - "$tmp/fio.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"]
r = sum(x["read"]["bw_bytes"] for x in j); w = sum(x["write"]["bw_bytes"] for x in j)
ri = sum(x["read"]["iops"] for x in j); wi = sum(x["write"]["iops"] for x in j)
print(f"{(r + w) / 1e6:.1f}" if "seq" in j[0]["jobname"] else f"{ri + wi:.0f}")
PY
  rm -f "$dir"/"$name"*
}

# Drops every page cache (root only; without it reads may come from memory).
drop_caches() {
  sync
  echo 3 > /proc/sys/vm/drop_caches 2> /dev/null || true
}

declare -A results units
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
workloads=(seqwrite seqread randread1 randread2 randwrite1 randwrite2)
for ((rep = 1; rep <= reps; rep++)); do
  for target in native mnt; do
    d="$tmp/$target"
    results[$target,seqwrite]+="$(fio_run "$d" seqw --rw=write --bs=1M --size=1G --end_fsync=1) "
    fio --name=seqr --directory="$d" --rw=write --bs=1M --size=1G > /dev/null 2>&1
    # Both sides read from the disk: every page cache is dropped first (fio's
    # own invalidation reaches only the mount's cache, not the content
    # file's, so the mount would read from memory and native from the disk).
    drop_caches
    results[$target,seqread]+="$(fio --name=seqr --directory="$d" --rw=read --bs=1M --size=1G --invalidate=0 --output-format=json 2>/dev/null | python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.1f" % (j["jobs"][0]["read"]["bw_bytes"]/1e6))') "
    rm -f "$d"/seqr*
    for jobs in 1 2; do
      # Random reads from memory on both sides: the files are read once
      # first, so the line measures the read path, not the disk.
      fio --name=rr --directory="$d" --rw=read --bs=1M --size=256M --numjobs=$jobs > /dev/null 2>&1
      results[$target,randread$jobs]+="$(fio_run "$d" rr --rw=randread --bs=4k --size=256M --numjobs=$jobs --time_based --runtime=5 --invalidate=0 --group_reporting=0) "
      # --invalidate=0: fio otherwise drops the page cache of the file it
      # just laid out, which on the native side writes all of it back inside
      # the timed job (and through the mount reaches only the mount's cache).
      results[$target,randwrite$jobs]+="$(fio_run "$d" rw --rw=randwrite --bs=4k --size=256M --numjobs=$jobs --time_based --runtime=5 --invalidate=0) "
    done
    while read -r k v unit; do
      results[$target,$k]+="$v "
      units[$k]=$unit
    done < <("$build/bench/fs_meta_bench" "$d")
    mkdir "$d/lsl"
    (cd "$d/lsl" && seq -f 'f%.0f' 1 10000 | xargs touch)
    t0=$(date +%s%N)
    ls -l "$d/lsl" > /dev/null
    t1=$(date +%s%N)
    results[$target,ls-l-coreutils]+="$(( 10000 * 1000000000 / (t1 - t0) )) "
    # Again once the mount's cached names and attributes (10 s) expired.
    sleep 11
    t0=$(date +%s%N)
    ls -l "$d/lsl" > /dev/null
    t1=$(date +%s%N)
    results[$target,ls-l-after-10s]+="$(( 10000 * 1000000000 / (t1 - t0) )) "
    units[ls-l-coreutils]=entries/s
    units[ls-l-after-10s]=entries/s
    rm -rf "$d/lsl"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf "\nFUSE mount vs native directory (same disk), medians of %d runs\n" "$reps"
printf "load average before: %s, after: %s\n" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-15s %14s %14s %8s\n" workload native mount ratio
for k in seqwrite seqread randread1 randread2 randwrite1 randwrite2 create+stat unlink ls-l ls-l-coreutils ls-l-after-10s lock+unlock getxattr; do
  n=$(echo "${results[native,$k]}" | median); m=$(echo "${results[mnt,$k]}" | median)
  unit=MB/s; [[ $k == rand* ]] && unit=IOPS; [[ -n "${units[$k]:-}" ]] && unit=${units[$k]}
  ratio=$(python3 -c "print(f'{$m/$n:.2f}' if $n else '-')")
  printf "%-15s %14s %14s %8s  %s\n" "$k" "$n" "$m" "$ratio" "$unit"
done
