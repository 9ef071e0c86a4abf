#!/usr/bin/env bash
# Samba's smbclient (a client nobody here wrote) against the daemon's SMB
# server, for every dialect it speaks (SMB 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1),
# checking that the dialect asked for is the one negotiated (smbclient -d 5):
# put and get of a 64 MiB random file compared byte for byte, ls and allinfo
# (size, attributes), mkdir, rmdir (also of a non-empty directory), rename
# into a subdirectory, del; share listing (-L: share, ro, IPC$); a wrong
# password, an unknown user and an unknown share refused with the right
# status; a read-only share and a non-root user refused writes; names
# matched case-insensitively.
# Then with the server requiring signing (every dialect: HMAC-SHA256,
# AES-CMAC, AES-GMAC; 3.1.1 with each signing algorithm alone), and
# requiring encryption (3.0, 3.0.2, 3.1.1; 3.1.1 with each cipher alone; a
# client that does not ask for it still encrypts, a 2.1 client is refused)
# and desiring it (3.1.1 encrypts unasked, 2.1 works unencrypted).
# One line per check; the first failure ends the test with the server's log.
#
#   smbclient_test.sh CONCORDFS_BINARY SOURCE_DIR
#   SMB_TEST_SERVER=samba smbclient_test.sh - SOURCE_DIR   (reference run)
set -euo pipefail
bin=$1
tmp=$(mktemp -d /tmp/cfs-smbclient-XXXXXX)
source "$(dirname "$0")/smb_lib.sh"
cleanup() {
  smb_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
command -v smbclient > /dev/null ||
  { echo "FAIL: smbclient not installed (apt-get install smbclient)"; exit 1; }

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

# smbc SHARE USER DIALECT [smbclient options...]: one smbclient run against
# the server; its output (stdout and stderr) in $out, its status in $rc.
out=
rc=0
smbc() {
  local share=$1 user=$2 dialect=$3
  shift 3
  rc=0
  out=$(timeout 300 smbclient "//127.0.0.1/$share" -p "$smb_port" -U "$user" \
    --option="client min protocol=$dialect" \
    --option="client max protocol=$dialect" "$@" 2>&1) || rc=$?
}
# Expect success: no NT_STATUS error and exit status 0.
must() {  # description, then smbc arguments
  local what=$1
  shift
  smbc "$@"
  if [ "$rc" -ne 0 ] || grep -q 'NT_STATUS_' <<< "$out"; then
    fail "$what (smbclient exit $rc)" "$out"
  fi
}
# Expect a refusal naming one of the given statuses ("A|B").
refused() {  # description status-regex, then smbc arguments
  local what=$1 status=$2
  shift 2
  smbc "$@"
  if ! grep -Eq "NT_STATUS_($status)" <<< "$out"; then
    fail "$what: expected NT_STATUS_($status)" "$out"
    return 0
  fi
  ok "$what: $(grep -Eo "NT_STATUS_($status)" <<< "$out" | head -n 1)"
}

big=$tmp/big
big_size=$((64 * 1024 * 1024))
head -c "$big_size" /dev/urandom > "$big"
small=$tmp/small
printf 'small file, %s\n' "$(date)" > "$small"
small_size=$(stat -c %s "$small")

# negotiated TAG DIALECT sign|encrypt|plain [options...]: the dialect really
# negotiated; signed or encrypted traffic when expected (smbclient -d 5 logs
# "signed SMB2 message (sign_algo_id=N)" and "Encrypted SMB2 message").
# Prints the signing algorithm seen in $algo.
algo=
negotiated() {
  local tag=$1 dialect=$2 expect=$3
  shift 3
  # (Debug output names statuses of things tried and given up, such as
  # Kerberos: only the exit status and the listing count here.)
  smbc share "$SMB_ALICE" "$dialect" -d 5 -c ls "$@"
  [ "$rc" -eq 0 ] && grep -q 'blocks of size' <<< "$out" ||
    fail "$tag: ls with debug output (smbclient exit $rc)" "$out"
  local got
  got=$(grep -o 'negotiated dialect\[[^]]*\]' <<< "$out" | head -n 1)
  [ "$got" = "negotiated dialect[$dialect]" ] ||
    fail "$tag: expected negotiated dialect[$dialect], smbclient says '${got:-nothing}'" "$out"
  # Signed after the tree connect: the session setup's last reply is signed
  # whatever was negotiated.
  algo=$(sed -n '/tconx ok/,$p' <<< "$out" | grep -o 'sign_algo_id=[0-9]*' |
    sort -u | tr '\n' ' ' || true)
  case $expect in
    sign)
      [ -n "$algo" ] || fail "$tag: no signed SMB2 messages" "$out"
      ok "$tag: dialect $dialect negotiated, messages signed (${algo% })" ;;
    encrypt)
      grep -q 'Encrypted SMB2 message' <<< "$out" &&
        grep -q 'Decrypted SMB2 message' <<< "$out" ||
        fail "$tag: messages are not encrypted both ways" "$out"
      ok "$tag: dialect $dialect negotiated, messages encrypted both ways" ;;
    *)
      ok "$tag: dialect $dialect negotiated" ;;
  esac
}

# battery TAG DIALECT sign|encrypt|plain [options...]: the file and
# directory operations, in a directory of its own (t_TAG).
battery() {
  local tag=$1 dialect=$2 expect=$3
  shift 3
  local d="t_$tag" a=(share "$SMB_ALICE" "$dialect")
  negotiated "$tag" "$dialect" "$expect" "$@"

  must "$tag: mkdir" "${a[@]}" "$@" -c "mkdir $d"
  must "$tag: ls after mkdir" "${a[@]}" "$@" -c "ls"
  grep -Eq "^  $d +D+ " <<< "$out" || fail "$tag: ls does not show directory $d" "$out"
  ok "$tag: mkdir $d, ls shows it as a directory"

  must "$tag: put 64 MiB" "${a[@]}" "$@" -c "put $big $d\\big.bin"
  must "$tag: ls big.bin" "${a[@]}" "$@" -c "ls $d\\big.bin"
  grep -Eq "^  big\.bin +[A-Z]* +$big_size " <<< "$out" ||
    fail "$tag: ls does not show big.bin with $big_size bytes" "$out"
  ok "$tag: put 64 MiB, ls shows $big_size bytes"

  # allinfo: alternate (8.3) name, the four times, attributes, streams
  # (smbclient stops at the first of these queries that fails).
  local attrs bad=
  must "$tag: allinfo big.bin" "${a[@]}" "$@" -c "allinfo $d\\big.bin"
  attrs=$(grep -E '^attributes: ' <<< "$out" || true)
  grep -Fq "stream: [::\$DATA], $big_size bytes" <<< "$out" ||
    bad+="no ::\$DATA stream of $big_size bytes; "
  grep -Eq '^attributes: [A-Z]*A[A-Z]* \(' <<< "$attrs" && ! grep -Eq '^attributes: [A-Z]*D' <<< "$attrs" ||
    bad+="expected a file with the archive attribute, got '${attrs:-no attributes line}'; "
  for t in create_time access_time write_time change_time; do
    grep -Eq "^$t: +[A-Z][a-z][a-z] " <<< "$out" || bad+="no $t; "
  done
  if [ -n "$bad" ]; then
    grep -q 'NT_STATUS_' <<< "$out" || fail "$tag: allinfo big.bin: ${bad%; }" "$out"
  else
    ok "$tag: allinfo big.bin: $big_size bytes, $attrs, four timestamps"
  fi
  must "$tag: allinfo $d" "${a[@]}" "$@" -c "allinfo $d"
  if grep -Eq '^attributes: [A-Z]*D[A-Z]* \(' <<< "$out"; then
    ok "$tag: allinfo $d: $(grep -E '^attributes: ' <<< "$out")"
  elif ! grep -q 'NT_STATUS_' <<< "$out"; then
    fail "$tag: allinfo $d: no directory attribute" "$out"
  fi

  rm -f "$tmp/big.out"
  must "$tag: get 64 MiB" "${a[@]}" "$@" -c "get $d\\big.bin $tmp/big.out"
  cmp -s "$big" "$tmp/big.out" || fail "$tag: the 64 MiB file read back differs" "$out"
  ok "$tag: get 64 MiB, same bytes"

  must "$tag: put small, mkdir sub" "${a[@]}" "$@" -c "put $small $d\\small.txt"
  must "$tag: mkdir sub" "${a[@]}" "$@" -c "mkdir $d\\sub"
  must "$tag: rename" "${a[@]}" "$@" -c "rename $d\\small.txt $d\\sub\\renamed.txt"
  refused "$tag: ls of the old name after rename" "NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND" \
    "${a[@]}" "$@" -c "ls $d\\small.txt"
  must "$tag: ls renamed" "${a[@]}" "$@" -c "ls $d\\sub\\renamed.txt"
  grep -Eq "^  renamed\.txt +[A-Z]* +$small_size " <<< "$out" ||
    fail "$tag: ls does not show sub\\renamed.txt with $small_size bytes" "$out"
  rm -f "$tmp/small.out"
  must "$tag: get renamed" "${a[@]}" "$@" -c "get $d\\sub\\renamed.txt $tmp/small.out"
  cmp -s "$small" "$tmp/small.out" || fail "$tag: renamed file differs" "$out"
  ok "$tag: rename into sub/, old name gone, new name has the same bytes"

  refused "$tag: rmdir of a non-empty directory" "DIRECTORY_NOT_EMPTY" \
    "${a[@]}" "$@" -c "rmdir $d\\sub"
  must "$tag: del" "${a[@]}" "$@" -c "del $d\\sub\\renamed.txt"
  refused "$tag: ls after del" "NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND" \
    "${a[@]}" "$@" -c "ls $d\\sub\\renamed.txt"
  must "$tag: rmdir sub" "${a[@]}" "$@" -c "rmdir $d\\sub"
  refused "$tag: ls after rmdir" "NO_SUCH_FILE|OBJECT_NAME_NOT_FOUND|OBJECT_PATH_NOT_FOUND" \
    "${a[@]}" "$@" -c "ls $d\\sub\\*"
  must "$tag: del big.bin" "${a[@]}" "$@" -c "del $d\\big.bin"
  must "$tag: rmdir $d" "${a[@]}" "$@" -c "rmdir $d"
  must "$tag: ls root" "${a[@]}" "$@" -c "ls"
  grep -Eq "^  $d " <<< "$out" && fail "$tag: $d still listed after rmdir" "$out"
  ok "$tag: del, rmdir; nothing left behind"
}

# refusals TAG DIALECT [options...]: share listing and what must be refused.
refusals() {
  local tag=$1 dialect=$2
  shift 2
  out=$(timeout 60 smbclient -L 127.0.0.1 -p "$smb_port" -U "$SMB_ALICE" \
    --option="client min protocol=$dialect" --option="client max protocol=$dialect" \
    "$@" 2>&1) || fail "$tag: smbclient -L" "$out"
  for s in share ro 'IPC\$'; do
    grep -Eq "^[[:space:]]+$s[[:space:]]+(Disk|IPC)" <<< "$out" ||
      fail "$tag: -L does not list $s" "$out"
  done
  ok "$tag: -L lists share, ro and IPC\$"
  refused "$tag: wrong password" LOGON_FAILURE share alice%Wrong-1 "$dialect" "$@" -c ls
  refused "$tag: unknown user" LOGON_FAILURE share carol%Secret-1 "$dialect" "$@" -c ls
  refused "$tag: unknown share" BAD_NETWORK_NAME nosuch "$SMB_ALICE" "$dialect" "$@" -c ls
}

# ---- signing enabled (not required), no encryption ----
smb_start
echo "server: $smb_server on 127.0.0.1:$smb_port (signing: enabled, encryption: off)"
for dialect in SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11; do
  battery "$dialect" "$dialect" plain
  refusals "$dialect" "$dialect"
done

# A read-only share and a user without root's rights (uid 1 in a root-owned
# 0755 tree): reads work, writes are refused and change nothing.
shared() {  # (re)creates shared.txt as alice
  must "setup: put shared.txt" share "$SMB_ALICE" SMB3_11 -c "put $small shared.txt"
}
still_there() {  # what: shared.txt must still exist, unchanged
  rm -f "$tmp/shared.out"
  smbc share "$SMB_ALICE" SMB3_11 -c "get shared.txt $tmp/shared.out"
  cmp -s "$small" "$tmp/shared.out" ||
    { fail "$1 changed shared.txt or removed it" "$out"; shared; }
}
shared
rm -f "$tmp/ro.out"
must "ro: get" ro "$SMB_ALICE" SMB3_11 -c "get shared.txt $tmp/ro.out"
cmp -s "$small" "$tmp/ro.out" || fail "ro: file read from the read-only share differs"
ok "ro: get from the read-only share"
refused "ro: put" "ACCESS_DENIED|MEDIA_WRITE_PROTECTED" ro "$SMB_ALICE" SMB3_11 -c "put $small ro-new.txt"
refused "ro: put over an existing file" "ACCESS_DENIED|MEDIA_WRITE_PROTECTED" ro "$SMB_ALICE" SMB3_11 -c "put $tmp/big shared.txt"
still_there "ro: put over an existing file"
refused "ro: mkdir" "ACCESS_DENIED|MEDIA_WRITE_PROTECTED" ro "$SMB_ALICE" SMB3_11 -c "mkdir ro-dir"
refused "ro: del" "ACCESS_DENIED|MEDIA_WRITE_PROTECTED|CANNOT_DELETE" ro "$SMB_ALICE" SMB3_11 -c "del shared.txt"
still_there "ro: del"
refused "ro: rename" "ACCESS_DENIED|MEDIA_WRITE_PROTECTED" ro "$SMB_ALICE" SMB3_11 -c "rename shared.txt other.txt"
still_there "ro: rename"
must "bob: ls" share "$SMB_BOB" SMB3_11 -c ls
grep -Eq '^  shared\.txt ' <<< "$out" || fail "bob: ls does not show shared.txt" "$out"
rm -f "$tmp/bob.out"
must "bob: get" share "$SMB_BOB" SMB3_11 -c "get shared.txt $tmp/bob.out"
cmp -s "$small" "$tmp/bob.out" && ok "bob (uid 1): ls and get of root's file" ||
  fail "bob: file read back differs"
refused "bob: put into root's directory" ACCESS_DENIED share "$SMB_BOB" SMB3_11 -c "put $small bob.txt"
refused "bob: put over root's 0644 file" ACCESS_DENIED share "$SMB_BOB" SMB3_11 -c "put $tmp/big shared.txt"
still_there "bob: put over root's file"
refused "bob: mkdir in root's directory" ACCESS_DENIED share "$SMB_BOB" SMB3_11 -c "mkdir bobdir"
refused "bob: del of root's file" ACCESS_DENIED share "$SMB_BOB" SMB3_11 -c "del shared.txt"
still_there "bob: del"
refused "bob: rename of root's file" ACCESS_DENIED share "$SMB_BOB" SMB3_11 -c "rename shared.txt bob.txt"
still_there "bob: rename"
must "cleanup: del shared.txt" share "$SMB_ALICE" SMB3_11 -c "del shared.txt"

# Names are case-insensitive over SMB (Windows; Samba by default): a file
# created as MiXed.txt opens as mixed.txt and MIXED.TXT.
must "case: put MiXed.txt" share "$SMB_ALICE" SMB3_11 -c "put $small MiXed.txt"
rm -f "$tmp/case.out"
smbc share "$SMB_ALICE" SMB3_11 -c "get mixed.txt $tmp/case.out"
if cmp -s "$small" "$tmp/case.out"; then
  ok "case: MiXed.txt opens as mixed.txt"
else
  fail "case: get mixed.txt of MiXed.txt (names must match case-insensitively)" "$out"
fi
must "case: rename in other case" share "$SMB_ALICE" SMB3_11 -c "rename MIXED.TXT Renamed.txt; ls Renamed.txt"
must "case: del" share "$SMB_ALICE" SMB3_11 -c "del renamed.txt"
must "case: ls after del" share "$SMB_ALICE" SMB3_11 -c "ls"
grep -Eqi '^  (mixed|renamed)\.txt ' <<< "$out" && fail "case: file left after rename and del in other case" "$out"
ok "case: rename and del by names in other case"
smb_stop

# ---- signing required ----
smb_signing=required smb_encryption=off
smb_start
echo "server: $smb_server on 127.0.0.1:$smb_port (signing: required, encryption: off)"
declare -A sign_algo=([SMB2_02]=0 [SMB2_10]=0 [SMB3_00]=1 [SMB3_02]=1)
for dialect in SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11; do
  battery "sign_$dialect" "$dialect" sign --client-protection=sign
  if [ -n "${sign_algo[$dialect]:-}" ] && [ "$algo" != "sign_algo_id=${sign_algo[$dialect]} " ]; then
    fail "sign_$dialect: expected sign_algo_id=${sign_algo[$dialect]}, smbclient used '$algo'"
  fi
done
# A client that does not ask for signing signs because the server requires it.
for dialect in SMB2_02 SMB3_11; do
  negotiated "unasked_sign_$dialect" "$dialect" sign --client-protection=off
done
# SMB 3.1.1 with each signing algorithm the client offers alone.
for sa in AES-128-GMAC:2 AES-128-CMAC:1 HMAC-SHA256:0; do
  negotiated "sign_3.1.1_${sa%:*}" SMB3_11 sign --client-protection=sign \
    --option="client smb3 signing algorithms=${sa%:*}"
  [ "$algo" = "sign_algo_id=${sa#*:} " ] ||
    fail "sign_3.1.1_${sa%:*}: expected sign_algo_id=${sa#*:}, smbclient used '$algo'"
  rm -f "$tmp/small.out"
  must "sign_3.1.1_${sa%:*}: put/get" share "$SMB_ALICE" SMB3_11 --client-protection=sign \
    --option="client smb3 signing algorithms=${sa%:*}" \
    -c "put $small alg.txt; get alg.txt $tmp/small.out; del alg.txt"
  cmp -s "$small" "$tmp/small.out" || fail "sign_3.1.1_${sa%:*}: file read back differs"
  ok "sign_3.1.1_${sa%:*}: put, get, del"
done
smb_stop

# ---- encryption required ----
smb_signing=enabled smb_encryption=required
smb_start
echo "server: $smb_server on 127.0.0.1:$smb_port (signing: enabled, encryption: required)"
for dialect in SMB3_00 SMB3_02 SMB3_11; do
  battery "encrypt_$dialect" "$dialect" encrypt --client-protection=encrypt
done
# A client that does not ask for encryption encrypts because the server
# requires it; one that cannot (SMB 2.x) is refused.
for dialect in SMB3_00 SMB3_11; do
  negotiated "unasked_encrypt_$dialect" "$dialect" encrypt --client-protection=off
done
refused "SMB2_10 client without encryption" "ACCESS_DENIED" share "$SMB_ALICE" SMB2_10 -c ls
# SMB 3.1.1 with each cipher the client offers alone.
for cipher in AES-128-GCM AES-128-CCM AES-256-GCM AES-256-CCM; do
  negotiated "encrypt_3.1.1_$cipher" SMB3_11 encrypt --client-protection=encrypt \
    --option="client smb3 encryption algorithms=$cipher"
  rm -f "$tmp/big.out"
  must "encrypt_3.1.1_$cipher: put/get" share "$SMB_ALICE" SMB3_11 --client-protection=encrypt \
    --option="client smb3 encryption algorithms=$cipher" \
    -c "put $big alg.bin; get alg.bin $tmp/big.out; del alg.bin"
  cmp -s "$big" "$tmp/big.out" || fail "encrypt_3.1.1_$cipher: 64 MiB read back differs"
  ok "encrypt_3.1.1_$cipher: put, get (same bytes), del of 64 MiB"
done
smb_stop

# ---- encryption desired: SMB 3 clients encrypt, SMB 2 clients still work ----
smb_signing=enabled smb_encryption=desired
smb_start
echo "server: $smb_server on 127.0.0.1:$smb_port (signing: enabled, encryption: desired)"
negotiated "desired_SMB3_11" SMB3_11 encrypt --client-protection=off
negotiated "desired_SMB2_10" SMB2_10 plain
must "desired_SMB2_10: put/get" share "$SMB_ALICE" SMB2_10 \
  -c "put $small des.txt; get des.txt $tmp/small.out; del des.txt"
cmp -s "$small" "$tmp/small.out" || fail "desired_SMB2_10: file read back differs"
ok "desired_SMB2_10: unencrypted put, get, del"
smb_stop

[ "$failures" -eq 0 ] || { echo "FAIL: $failures checks failed"; exit 1; }
echo "smbclient: ok ($smb_server)"
