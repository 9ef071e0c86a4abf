# Shared helpers for the SMB integration tests (sourced, not run): start the
# server under test on a free port of 127.0.0.1 with a private configuration
# in the caller's $tmp, wait until it accepts connections, stop it by its
# PID.
#
# The server is concordfs (the binary the test was given) unless
# SMB_TEST_SERVER=samba: then it is Samba's smbd with the same users and
# shares (users mapped onto local accounts), so that every script can be
# checked against a reference server:
#   SMB_TEST_SERVER=samba tests/integration/smb/smbclient_test.sh - .
#
# The caller sets, before sourcing: bin (the concordfs binary), tmp (its
# private directory, removed by the caller). It may set before smb_start:
#   smb_signing     enabled | required              (default enabled)
#   smb_encryption  off | desired | required        (default off)
#   smb_mount       a FUSE mount point (concordfs only; empty: no mount)
#   smb_nfs_port    serve NFSv3 on this port (concordfs only; empty: no NFS)
# and gets after smb_start:
#   smb_port        the SMB port
#   smb_pid         the server's PID
#   smb_log         the server's log file
#   smb_local       a local directory that shows the share's root, if any
#                   (concordfs: the FUSE mount when enabled; Samba: the
#                   shared directory), else empty
#
# Users: alice / Secret-1 (uid 0), bob / Secret-2 (uid 1, gid 1: Debian's
# "daemon" account, which Samba needs to exist). Shares: share (read-write,
# the root) and ro (read-only, the root).

# samba_global: the [global] section of the reference smbd's smb.conf.
source "$(dirname "${BASH_SOURCE[0]}")/../../../scripts/samba_conf.sh"

smb_server=${SMB_TEST_SERVER:-concordfs}
smb_signing=${smb_signing:-enabled}
smb_encryption=${smb_encryption:-off}
smb_mount=${smb_mount:-}
smb_nfs_port=${smb_nfs_port:-}
smb_pid=
smb_port=
smb_log=
smb_local=
smb_starts=0
SMB_ALICE=alice%Secret-1
SMB_BOB=bob%Secret-2

smb_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

smb_log_tail() {
  [ -n "$smb_log" ] && [ -f "$smb_log" ] || return 0
  echo "---- last lines of $smb_server's log ($smb_log) ----"
  tail -n "${1:-30}" "$smb_log"
  echo "----"
}

# Stops the server started by smb_start (TERM, up to 10 s, then KILL).
smb_stop() {
  [ -n "$smb_pid" ] || return 0
  kill -TERM "$smb_pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$smb_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$smb_pid" 2>/dev/null || true
  wait "$smb_pid" 2>/dev/null || true
  smb_pid=
  if [ -n "$smb_mount" ] && mountpoint -q "$smb_mount" 2>/dev/null; then
    umount -l "$smb_mount" || true
  fi
}

smb_write_concordfs_config() {  # file
  local mount="{enabled: false}" nfs="{enabled: false}"
  if [ -n "$smb_mount" ]; then
    mkdir -p "$smb_mount"
    mount="{enabled: true, path: $smb_mount, allow_other: true}"
  fi
  if [ -n "$smb_nfs_port" ]; then
    nfs="{enabled: true, address: 127.0.0.1, port: $smb_nfs_port, udp: false, portmapper: off, exports: [{path: /, clients: [127.0.0.0/8], squash: none}]}"
  fi
  cat > "$1" <<EOF
data_dir: $tmp/data
log_level: warn
locks: {grace_period: 0}
mount: $mount
nfs: $nfs
smb:
  enabled: true
  address: 127.0.0.1
  port: $smb_port
  server_name: CONCORDFS
  signing: $smb_signing
  encryption: $smb_encryption
  users:
    - {name: alice, password: "Secret-1", uid: 0, gid: 0}
    - {name: bob, password: "Secret-2", uid: 1, gid: 1}
  shares:
    - {name: share, path: /, read_only: false}
    - {name: ro, path: /, read_only: true}
EOF
}

smb_write_samba_config() {  # file
  local s=$tmp/samba signing=auto
  [ "$smb_signing" = required ] && signing=mandatory
  mkdir -p "$s/share"
  chmod 0755 "$tmp" "$s" "$s/share"  # bob (uid 1) reaches the share
  printf 'root = alice\ndaemon = bob\n' > "$s/users.map"
  {
    samba_global "$s" "$smb_port" SAMBATEST "server signing = $signing" \
      "server smb encrypt = $smb_encryption"
    cat <<EOF
[share]
  path = $s/share
  read only = no
[ro]
  path = $s/share
  read only = yes
EOF
  } > "$1"
  if [ ! -f "$s/passdb.tdb" ]; then
    printf 'Secret-1\nSecret-1\n' |
      pdbedit -a -t -u root -b "tdbsam:$s/passdb.tdb" -s "$1" > /dev/null
    printf 'Secret-2\nSecret-2\n' |
      pdbedit -a -t -u daemon -b "tdbsam:$s/passdb.tdb" -s "$1" > /dev/null
  fi
}

# Starts the server (keeping its data across restarts within one test) and
# waits until it serves; exits the test on failure.
smb_start() {
  smb_starts=$((smb_starts + 1))
  local try
  for try in 1 2 3; do  # a port picked free may be taken by then
    smb_port=$(smb_free_port)
    if [ "$smb_server" = samba ]; then
      command -v smbd > /dev/null ||
        { echo "FAIL: SMB_TEST_SERVER=samba but smbd is not installed (apt-get install samba)"; exit 1; }
      smb_log=$tmp/smbd.log
      smb_local=$tmp/samba/share
      smb_write_samba_config "$tmp/smb.conf"
      # smbd signals its whole process group when it exits: a group of its
      # own (setsid execs smbd here, so $! is smbd's PID).
      setsid smbd --foreground --no-process-group --debug-stdout \
        -s "$tmp/smb.conf" >> "$smb_log" 2>&1 < /dev/null &
      smb_pid=$!
    else
      [ -x "$bin" ] || { echo "FAIL: $bin is not an executable"; exit 1; }
      smb_log=$tmp/daemon.log
      smb_local=$smb_mount
      smb_write_concordfs_config "$tmp/concordfs.yaml"
      "$bin" --config "$tmp/concordfs.yaml" >> "$smb_log" 2>&1 < /dev/null &
      smb_pid=$!
    fi
    local i
    for i in $(seq 1 100); do
      if ! kill -0 "$smb_pid" 2>/dev/null; then
        wait "$smb_pid" 2>/dev/null || true
        smb_pid=
        break
      fi
      # Ready: the SMB port accepts connections (and the mount is up).
      # Whether SMB works is for the tests to find out.
      if { [ -z "$smb_mount" ] || [ "$smb_server" = samba ] || mountpoint -q "$smb_mount"; } &&
         timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$smb_port" 2> /dev/null; then
        return 0
      fi
      sleep 0.1
    done
    if [ -n "$smb_pid" ]; then  # running but not answering within 10 s
      smb_stop
      break
    fi
    grep -qi 'address already in use' "$smb_log" 2>/dev/null || break
  done
  echo "FAIL: $smb_server did not serve SMB on 127.0.0.1:$smb_port within 10 s"
  smb_log_tail 40
  exit 1
}
