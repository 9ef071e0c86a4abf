#!/usr/bin/env bash
# One daemon serving the same tree through its FUSE mount, NFSv3 and SMB,
# with clients nobody here wrote (the kernel's FUSE client, libnfs's
# nfs-cp/nfs-cat/nfs-ls, Samba's smbclient): what one protocol writes, the
# others read byte for byte, and renames, deletions, new directories and
# changed contents or sizes made on one side are seen on the others at once
# (no stale kernel caches on the mount).
#
#   smb_crossproto_test.sh CONCORDFS_BINARY SOURCE_DIR
#   SMB_TEST_SERVER=samba smb_crossproto_test.sh - SOURCE_DIR
#     (reference run: Samba's shared directory stands in for the mount and
#     the NFS checks are skipped)
set -euo pipefail
bin=$1
tmp=$(mktemp -d /tmp/cfs-smbx-XXXXXX)
source "$(dirname "$0")/smb_lib.sh"
cleanup() {
  smb_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
# The first failure ends the test; SMB_TEST_KEEP_GOING=1 (diagnosis) goes
# on after failures and exits 1 at the end.
failures=0
fail() {  # message [output]
  echo "FAIL: $1"
  if [ -n "${2:-}" ]; then
    echo "---- client output ----"
    tail -n 25 <<< "$2"
  fi
  smb_log_tail 40
  failures=$((failures + 1))
  [ -n "${SMB_TEST_KEEP_GOING:-}" ] || exit 1
}
ok() { echo "ok: $*"; }
for t in smbclient nfs-cp nfs-cat nfs-ls; do
  command -v "$t" > /dev/null || fail "$t not installed (apt-get install smbclient libnfs-utils)"
done

nfs=
if [ "$smb_server" = concordfs ]; then
  smb_mount=$tmp/mnt
  smb_nfs_port=$(smb_free_port)
  nfs=1
fi
smb_start
m=$smb_local
echo "server: $smb_server, SMB on 127.0.0.1:$smb_port, local view: $m" \
  "${nfs:+, NFS on 127.0.0.1:$smb_nfs_port}"
url() { echo "nfs://127.0.0.1$1?version=3&nfsport=$smb_nfs_port&mountport=$smb_nfs_port"; }
skip_nfs() { [ -n "$nfs" ] || { echo "skip: $1 (no NFS on $smb_server)"; return 1; }; }

out=
smbc() {  # smbclient command string: fails the test on any error
  local rc=0
  out=$(timeout 120 smbclient //127.0.0.1/share -p "$smb_port" -U "$SMB_ALICE" \
    -m SMB3_11 -c "$1" 2>&1) || rc=$?
  if [ "$rc" -ne 0 ] || grep -q 'NT_STATUS_' <<< "$out"; then
    fail "smbclient -c '$1' (exit $rc)" "$out"
  fi
}
smbc_refused() {  # smbclient command string, status regex
  out=$(timeout 120 smbclient //127.0.0.1/share -p "$smb_port" -U "$SMB_ALICE" \
    -m SMB3_11 -c "$1" 2>&1) || true
  grep -Eq "NT_STATUS_($2)" <<< "$out" || fail "smbclient -c '$1': expected NT_STATUS_($2)" "$out"
}
smb_size() {  # remote path: $remote_size, its size as ls reports it
  smbc "ls $1"
  remote_size=$(awk -v n="${1##*\\}" '$1 == n && $3 ~ /^[0-9]+$/ { print $3 }' <<< "$out")
}

head -c $((16 * 1024 * 1024 + 4321)) /dev/urandom > "$tmp/a"
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom > "$tmp/b"
head -c $((2 * 1024 * 1024 + 77)) /dev/urandom > "$tmp/c"
smbc "mkdir x"

# SMB -> mount, NFS.
smbc "put $tmp/a x\\from-smb"
cmp -s "$tmp/a" "$m/x/from-smb" || fail "file put over SMB differs in the mount"
ok "put over SMB (16 MiB), same bytes through the mount"
if skip_nfs "put over SMB, read over NFS"; then
  nfs-cp "$(url /x/from-smb)" "$tmp/a.nfs" > /dev/null || fail "nfs-cp of the SMB file"
  cmp -s "$tmp/a" "$tmp/a.nfs" || fail "file put over SMB differs over NFS (nfs-cp)"
  [ "$(nfs-cat "$(url /x/from-smb)" | md5sum)" = "$(md5sum < "$tmp/a")" ] ||
    fail "file put over SMB differs over NFS (nfs-cat)"
  ok "put over SMB, same bytes over NFS (nfs-cp and nfs-cat)"
fi

# Mount, NFS -> SMB.
cp "$tmp/b" "$m/x/from-mount"
rm -f "$tmp/b.smb"
smbc "get x\\from-mount $tmp/b.smb"
cmp -s "$tmp/b" "$tmp/b.smb" || fail "file written through the mount differs over SMB"
ok "written through the mount, same bytes over SMB"
if skip_nfs "written with nfs-cp, read over SMB"; then
  nfs-cp "$tmp/c" "$(url /x/from-nfs)" > /dev/null || fail "nfs-cp into the daemon"
  rm -f "$tmp/c.smb"
  smbc "get x\\from-nfs $tmp/c.smb"
  cmp -s "$tmp/c" "$tmp/c.smb" || fail "file written with nfs-cp differs over SMB"
  smbc "ls x\\*"
  grep -Eq "^  from-nfs +[A-Z]* +$(stat -c %s "$tmp/c") " <<< "$out" ||
    fail "SMB ls does not show from-nfs with its size" "$out"
  ok "written with nfs-cp, same bytes and size over SMB"
fi

# Changes made through the mount after SMB has seen the file: new contents
# (same size), then a longer file.
smbc "get x\\from-mount $tmp/b.smb"
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom > "$tmp/b2"
cp "$tmp/b2" "$m/x/from-mount"
rm -f "$tmp/b.smb"
smbc "get x\\from-mount $tmp/b.smb"
cmp -s "$tmp/b2" "$tmp/b.smb" || fail "SMB reads stale contents after a rewrite through the mount"
printf 'appended through the mount\n' >> "$m/x/from-mount"
size=$(stat -c %s "$m/x/from-mount")
smb_size 'x\from-mount'
[ "$remote_size" = "$size" ] ||
  fail "SMB ls size '$remote_size' after an append through the mount, expected $size" "$out"
ok "rewritten and appended through the mount: SMB sees new bytes and size $size"

# Overwrite over SMB of a file the mount has read: the mount sees new bytes.
cat "$m/x/from-smb" > /dev/null
stat "$m/x/from-smb" > /dev/null
smbc "put $tmp/c x\\from-smb"
cmp -s "$tmp/c" "$m/x/from-smb" ||
  fail "mount shows stale contents after an overwrite over SMB (size $(stat -c %s "$m/x/from-smb"), expected $(stat -c %s "$tmp/c"))"
ok "overwritten over SMB with a shorter file: mount sees the new bytes and size"

# Rename over SMB: the mount (which has looked both names up) sees it.
stat "$m/x/from-mount" > /dev/null
stat "$m/x/renamed" > /dev/null 2>&1 || true
smbc "rename x\\from-mount x\\renamed"
[ -e "$m/x/from-mount" ] && fail "mount still shows the old name after a rename over SMB"
[ -f "$m/x/renamed" ] || fail "mount does not show the new name after a rename over SMB"
cmp -s <(cat "$tmp/b2"; printf 'appended through the mount\n') "$m/x/renamed" ||
  fail "renamed file's contents differ in the mount"
ok "rename over SMB: old name gone, new name with the same bytes in the mount"
if skip_nfs "rename over SMB seen over NFS"; then
  nfs-ls "$(url /x)" > "$tmp/ls.nfs" || fail "nfs-ls /x"
  grep -q ' renamed$' "$tmp/ls.nfs" && ! grep -q ' from-mount$' "$tmp/ls.nfs" ||
    fail "nfs-ls after the rename over SMB: $(cat "$tmp/ls.nfs")"
  ok "rename over SMB seen over NFS"
fi

# Directories: made over SMB, seen in the mount; made in the mount, seen
# over SMB; a file moved into it through the mount, listed over SMB.
smbc "mkdir x\\dir-smb"
[ -d "$m/x/dir-smb" ] || fail "directory made over SMB missing in the mount"
mkdir "$m/x/dir-mnt"
mv "$m/x/renamed" "$m/x/dir-mnt/moved"
smbc "ls x\\dir-mnt\\*"
grep -Eq "^  moved +[A-Z]* +$size " <<< "$out" ||
  fail "SMB ls does not show a file moved into a new directory through the mount" "$out"
smbc_refused "ls x\\renamed" "NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND"
ok "mkdir over SMB seen in the mount; mkdir + mv in the mount seen over SMB"

# Delete over SMB: gone from the mount (looked up just before) and NFS.
stat "$m/x/from-smb" > /dev/null
smbc "del x\\from-smb"
[ -e "$m/x/from-smb" ] && fail "mount still shows a file deleted over SMB"
ls "$m/x" | grep -qx from-smb && fail "mount's listing still shows a file deleted over SMB"
ok "del over SMB: gone from the mount"
if skip_nfs "del over SMB seen over NFS"; then
  nfs-cat "$(url /x/from-smb)" > /dev/null 2>&1 && fail "nfs-cat of a file deleted over SMB succeeded"
  ok "del over SMB: gone over NFS"
fi
smbc "rmdir x\\dir-smb"
[ -e "$m/x/dir-smb" ] && fail "mount still shows a directory removed over SMB"
ok "rmdir over SMB: gone from the mount"

# Delete through the mount: gone over SMB.
rm "$m/x/dir-mnt/moved"
smbc_refused "ls x\\dir-mnt\\moved" "NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND"
rmdir "$m/x/dir-mnt"
smbc_refused "ls x\\dir-mnt\\*" "NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND|OBJECT_PATH_NOT_FOUND"
ok "rm and rmdir through the mount: gone over SMB"

# Change notification: names created and removed through the mount (and
# over NFS) are reported to an SMB client watching the directory
# (smbclient's `notify` prints "<action> <name>": 0001 added, 0002 removed).
mkdir "$m/x/watched"
timeout -s INT 6 stdbuf -oL smbclient //127.0.0.1/share -p "$smb_port" \
  -U "$SMB_ALICE" -m SMB3_11 -c 'notify x\watched' > "$tmp/notify.out" 2>&1 &
watcher=$!
sleep 1.5
touch "$m/x/watched/made-locally"
sleep 0.3
mkdir "$m/x/watched/dir-locally"
sleep 0.3
rm "$m/x/watched/made-locally"
if [ -n "$nfs" ]; then
  sleep 0.3
  nfs-cp "$tmp/c" "$(url /x/watched/made-over-nfs)" > /dev/null ||
    fail "nfs-cp into the watched directory"
fi
wait "$watcher" || true
notified=$(cat "$tmp/notify.out")
for want in "0001 made-locally" "0001 dir-locally" "0002 made-locally"; do
  grep -q "^$want\$" <<< "$notified" ||
    fail "SMB notify did not report '$want' made through the mount" "$notified"
done
if [ -n "$nfs" ]; then
  grep -q '^0001 made-over-nfs$' <<< "$notified" ||
    fail "SMB notify did not report a file created over NFS" "$notified"
fi
ok "changes through the mount${nfs:+ and over NFS} reported to a waiting SMB notify"

smb_stop
[ "$failures" -eq 0 ] || { echo "FAIL: $failures checks failed"; exit 1; }
echo "smb cross-protocol: ok ($smb_server)"
