#!/usr/bin/env bash
# The libnfs command-line tools (nfs-cp, nfs-ls, nfs-cat: a client nobody
# here wrote) against the daemon's NFS server, next to its FUSE mount: copy
# files in and out, list, read back through the mount, survive a restart,
# and get refused on a read-only export.
#
#   nfs_tools_test.sh CONCORDFS_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
tmp=$(mktemp -d /tmp/cfs-nfs-tools-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  mountpoint -q "$tmp/mnt" 2>/dev/null && umount -l "$tmp/mnt"
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
for t in nfs-cp nfs-ls nfs-cat; do
  command -v "$t" > /dev/null || fail "$t not installed (apt-get install libnfs-utils)"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url() { echo "nfs://127.0.0.1$1?version=3&nfsport=$port&mountport=$port"; }
m=$tmp/mnt

start() {  # extra export lines
  cat > "$tmp/concordfs.yaml" <<EOF
data_dir: $tmp/data
log_level: warn
locks: {grace_period: 0}
mount: {enabled: true, path: $m}
smb: {enabled: false}
nfs:
  port: $port
  udp: false
  portmapper: off
  exports:
    - {path: /, clients: [127.0.0.0/8], squash: none}
$1
EOF
  "$bin" --config "$tmp/concordfs.yaml" >> "$tmp/daemon.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    mountpoint -q "$m" && nfs-ls "$(url /)" > /dev/null 2>&1 && return 0
    sleep 0.05
  done
  cat "$tmp/daemon.log"
  fail "daemon did not come up"
}
stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "daemon exit code $? after SIGTERM"
  pid=
}

start ""

# Copy in: a small text file and 5 MiB of random bytes (several WRITEs).
mkdir "$m/in"
echo "hello from nfs-cp" > "$tmp/small"
head -c $((5 * 1024 * 1024 + 17)) /dev/urandom > "$tmp/big"
nfs-cp "$tmp/small" "$(url /in/small)" > /dev/null || fail "nfs-cp small in"
nfs-cp "$tmp/big" "$(url /in/big)" > /dev/null || fail "nfs-cp big in"
cmp -s "$tmp/small" "$m/in/small" || fail "small file differs in the mount"
cmp -s "$tmp/big" "$m/in/big" || fail "big file differs in the mount"
[ "$(nfs-cat "$(url /in/small)")" = "hello from nfs-cp" ] || fail "nfs-cat"

# Copy out a file written through the mount.
seq 1 100000 > "$m/in/numbers"
nfs-cp "$(url /in/numbers)" "$tmp/numbers.out" > /dev/null || fail "nfs-cp out"
cmp -s "$m/in/numbers" "$tmp/numbers.out" || fail "copied-out file differs"

# nfs-ls: names, sizes and modes agree with the mount.
chmod 0600 "$m/in/small"
listing=$(nfs-ls "$(url /in)")
for f in small big numbers; do
  size=$(stat -c %s "$m/in/$f")
  grep -Eq "[[:space:]]$size[[:space:]]+$f\$" <<< "$listing" \
    || fail "nfs-ls: no '$f' of size $size in: $listing"
done
grep -Eq '^-rw-------.* small$' <<< "$listing" || fail "nfs-ls mode of small: $listing"
mkdir -p "$m/in/sub/deeper" && echo x > "$m/in/sub/deeper/leaf"
nfs-ls -R "$(url /in)" | grep -q "leaf" || fail "nfs-ls -R does not reach sub/deeper/leaf"

# nfs-cp (libnfs 4.0) creates its destination with a GUARDED CREATE, so
# it refuses to overwrite (NFS3ERR_EXIST) and leaves the file alone.
echo "second version, longer than the first" > "$tmp/small2"
if nfs-cp "$tmp/small2" "$(url /in/small)" > "$tmp/cp.out" 2>&1; then
  fail "nfs-cp over an existing file succeeded"
fi
grep -q "NFS3ERR_EXIST" "$tmp/cp.out" || fail "nfs-cp over an existing file: $(cat "$tmp/cp.out")"
cmp -s "$tmp/small" "$m/in/small" || fail "refused nfs-cp changed the file"
# Removed through the mount, copied again: the mount shows the new file.
rm "$m/in/small"
nfs-cp "$tmp/small2" "$(url /in/small)" > /dev/null || fail "nfs-cp after rm"
cmp -s "$tmp/small2" "$m/in/small" || fail "mount shows stale content after nfs-cp"

# A missing file is an error, not an empty file.
if nfs-cat "$(url /in/missing)" > /dev/null 2>&1; then fail "nfs-cat of a missing file succeeded"; fi

# After a restart with a read-only export of in/: data intact, writes refused.
stop
start "    - {path: /in, clients: [127.0.0.0/8], read_only: true, squash: none}"
cmp -s "$tmp/big" "$m/in/big" || fail "big file differs after restart"
nfs-cp "$(url /in/big)" "$tmp/big.out" > /dev/null || fail "nfs-cp out of a read-only export"
cmp -s "$tmp/big" "$tmp/big.out" || fail "copy out of the read-only export differs"
if nfs-cp "$tmp/small" "$(url /in/refused)" > /dev/null 2>&1; then
  fail "nfs-cp into a read-only export succeeded"
fi
[ -e "$m/in/refused" ] && fail "refused copy left a file behind"
stop

echo "nfs tools: ok"
