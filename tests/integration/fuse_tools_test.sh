#!/usr/bin/env bash
# Everyday tools on the daemon's FUSE mount: df, ls -l, an editor-style save
# (write temp, fsync, rename over), git clone, tar x, and building a small C
# project with make and cc inside the mount.
#
#   fuse_tools_test.sh CONCORDFS_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d /tmp/cfs-tools-XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  mountpoint -q "$tmp/mnt" 2>/dev/null && umount -l "$tmp/mnt"
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" --data-dir "$tmp/data" --mount-path "$tmp/mnt" --no-nfs --no-smb > "$tmp/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do mountpoint -q "$tmp/mnt" && break; sleep 0.05; done
mountpoint -q "$tmp/mnt" || { cat "$tmp/daemon.log"; fail "not mounted"; }
m=$tmp/mnt

df -P "$m" | awk 'NR==2 {exit !($2 > 0)}' || fail "df shows no size"
grep -q concordfs <<< "$(df -P "$m")" || fail "df does not name the file system"

mkdir "$m/d" && echo one > "$m/d/a" && ln -s a "$m/d/link"
grep -q -- "-> a" <<< "$(ls -l "$m/d")" || fail "ls -l symlink"
listing=$(ls -l "$m/d")
[ "$(grep -c '^-' <<< "$listing")" = 1 ] || fail "ls -l file count"

# An editor's save: write a temporary file, fsync it, rename it over.
printf 'line 1\nline 2\n' > "$m/d/.a.swp"
sync "$m/d/.a.swp"
mv "$m/d/.a.swp" "$m/d/a"
[ "$(cat "$m/d/a")" = "$(printf 'line 1\nline 2')" ] || fail "editor save"
sed -i 's/line 2/line two/' "$m/d/a"
grep -q "line two" "$m/d/a" || fail "sed -i"

# git clone of this repository into the mount, then a status check.
git clone -q "$src" "$m/repo" || fail "git clone"
[ -z "$(git -C "$m/repo" status --porcelain)" ] || fail "fresh clone is dirty"
git -C "$m/repo" log --oneline -1 > /dev/null || fail "git log"

# tar x of a tree, compared with the original.
tar -C "$src" -cf "$tmp/src.tar" util metadata
mkdir "$m/untar" && tar -C "$m/untar" -xf "$tmp/src.tar" || fail "tar x"
diff -r "$src/util" "$m/untar/util" > /dev/null || fail "tar x content differs"

# A small C project built with make inside the mount.
mkdir "$m/proj"
cat > "$m/proj/main.c" <<'C'
#include <stdio.h>
int add(int, int);
int main(void) { printf("%d\n", add(2, 3)); return 0; }
C
cat > "$m/proj/add.c" <<'C'
int add(int a, int b) { return a + b; }
C
printf 'app: main.o add.o\n\tcc -o app main.o add.o\n%%.o: %%.c\n\tcc -c $<\n' > "$m/proj/Makefile"
make -s -C "$m/proj" > /dev/null || fail "make"
[ "$("$m/proj/app")" = 5 ] || fail "built program output"
touch "$m/proj/add.c"
out=$(make -C "$m/proj") || fail "make after touch"
grep -q "cc -c add.c" <<< "$out" || fail "make did not rebuild after touch"

echo "fuse tools: ok"
