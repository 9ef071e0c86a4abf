#!/usr/bin/env bash
# The configurations shipped in the repository pass `concordfs
# --check-config` (the lab example in dist/, the default in daemon/), and a
# broken copy of the lab example fails it with a message naming the file,
# line and key (exit 2). The lab example's effective settings are what the
# README promises (ports 111, 2049, 445).
#
#   check_config_examples_test.sh CONCORDFS_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d /tmp/cfs-check-config-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for cfg in "$src/dist/concordfs-lab.yaml" "$src/daemon/concordfs.yaml"; do
  out=$("$bin" --check-config --config "$cfg" 2>&1) || fail "$cfg: $out"
  [ "$out" = "configuration OK" ] || fail "$cfg: unexpected output: $out"
  echo "ok: $cfg passes --check-config"
done

dump=$("$bin" --print-config --config "$src/dist/concordfs-lab.yaml")
for want in 'port: 2049' 'portmap_port: 111' 'port: 445' 'portmapper: embedded' \
            'address: "0.0.0.0"' 'name: "lab-ro"' 'read_only: true'; do
  grep -qF -- "$want" <<< "$dump" || fail "lab config: no '$want' in --print-config"
done
echo "ok: the lab config serves NFS on 2049, portmap on 111, SMB on 445"

sed 's/^  port: 445$/  port: 445445/' "$src/dist/concordfs-lab.yaml" > "$tmp/broken.yaml"
set +e
out=$("$bin" --check-config --config "$tmp/broken.yaml" 2>&1)
rc=$?
set -e
[ "$rc" = 2 ] || fail "broken config: exit $rc, want 2 ($out)"
grep -qE "broken.yaml:[0-9]+:[0-9]+: bad value '445445' for 'smb.port'" <<< "$out" ||
  fail "broken config: message: $out"
echo "ok: a broken copy fails with exit 2: $out"
echo "check_config_examples: ok"
