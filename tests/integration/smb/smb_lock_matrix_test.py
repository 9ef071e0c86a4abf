#!/usr/bin/env python3
"""Byte-range locks of every protocol exclude each other on one file, with
real clients, against the local daemon: the lock-interop harness
(tools/lock_harness.py: the cross-protocol matrix, SMB I/O under locks,
deadlocks, share modes) must find every cell as expected, and sections 1-6
here check SMB against local fcntl/flock in more detail (READ/WRITE around
a lock, F_GETLK, shared locks, blocking both ways, release at CLOSE).

  smb_lock_matrix_test.py CONCORDFS_BINARY NLM_LOCKCLI

Clients: impacket's SMB2 client, the kernel's FUSE client driven by
fcntl/flock in separate processes (distinct lock owners), and NLM v4
through libnfs (nlm_lockcli, which also plays the client's NLM service to
receive GRANTED callbacks).

The server looks a client's NLM callback port up at the client's port 111,
so the script runs itself in a private network + mount namespace (root
needed): only loopback, a tmpfs on /run, and Debian's rpcbind on
127.0.0.1:111 where nlm_lockcli registers; the daemon's own portmapper is
off. Every other port is picked free; all traffic stays on 127.0.0.1.

Prints one line per check, the harness's tables (expected/observed per
cell) and keeps its JSON next to the daemon's log on failure; exits
non-zero on any deviation.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HARNESS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "tools", "lock_harness.py")
sys.path.insert(0, os.path.dirname(HARNESS))
# The harness's clients (it re-runs this script under /usr/bin/python3 when
# the first python3 on PATH lacks impacket).
from lock_harness import (  # noqa: E402,F401
    EXCLUSIVE, FAIL_IMMEDIATELY, FILE_LOCK_CONFLICT, FILE_NAME, LOCK_NOT_GRANTED,
    PMAP_PORT, SHARED, SMB2_FLAGS_ASYNC_COMMAND, STATUS_PENDING, STATUS_SUCCESS,
    UNLOCK, Holder, LineReader, NlmCli, is_errno, status_name)
# LineReader and NlmCli: for admin_test.py, which imports this module.
import lock_harness  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import daemon_lib  # noqa: E402
from daemon_lib import free_port, port_accepts  # noqa: E402,F401

NS_ENV = "CFS_LOCK_MATRIX_IN_NS"

failures = []


def check(cond, what, got=""):
    if cond:
        print("ok: %s" % what)
    else:
        print("FAIL: %s%s" % (what, " (got %s)" % got if got != "" else ""))
        failures.append(what)
    sys.stdout.flush()


def Smb(port):
    return lock_harness.Smb("127.0.0.1", port, "alice", "Secret-1", "share")


# --- The daemon under test.
class Daemon(daemon_lib.DaemonProcess):
    def __init__(self, binary, tmp, smb_extra=""):
        # smb_extra: more keys of the smb section, one "key: value" per line.
        super().__init__(binary, tmp)
        self.smb_extra = smb_extra

    def start(self):
        def write_config():
            self.port = free_port()
            self.nfs_port = free_port()
            cfg = os.path.join(self.tmp, "concordfs.yaml")
            with open(cfg, "w") as f:
                f.write(f"""data_dir: {self.tmp}/data
log_level: warn
locks: {{grace_period: 0}}
mount: {{enabled: true, path: {self.mnt}, allow_other: true}}
nfs:
  enabled: true
  address: 127.0.0.1
  port: {self.nfs_port}
  portmapper: off
  exports:
    - {{path: /, clients: [127.0.0.0/8], squash: none}}
smb:
  enabled: true
  address: 127.0.0.1
  port: {self.port}
  server_name: CONCORDFS
  signing: enabled
  encryption: off
  users:
    - {{name: alice, password: "Secret-1", uid: 0, gid: 0}}
  shares:
    - {{name: share, path: /, read_only: false}}
""" + "".join("  %s\n" % l for l in self.smb_extra.splitlines()))
            return cfg

        def ready():
            return (subprocess.call(["mountpoint", "-q", self.mnt]) == 0 and
                    port_accepts(self.port) and port_accepts(self.nfs_port))

        if not self.start_with(write_config, ready, 10):
            self.tail()
            raise RuntimeError(
                "concordfs did not serve SMB, NFS and the mount within 10 s")


def run(daemon, tool):
    path = os.path.join(daemon.mnt, FILE_NAME)
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 16)  # 4096 bytes
    run_smb_local(daemon, path)
    out = os.path.join(daemon.tmp, "harness.json")
    cmd = [sys.executable, HARNESS, "--mount", daemon.mnt,
           "--nfs", "127.0.0.1:%d" % daemon.nfs_port,
           "--smb", "127.0.0.1:%d" % daemon.port, "--share", "share",
           "--user", "alice%Secret-1", "--nlm-lockcli", tool,
           "--nlm-log", os.path.join(daemon.tmp, "nlm_lockcli.log"),
           "--title", "concordfs (local daemon)", "--json", out]
    print("running: " + " ".join(cmd))
    sys.stdout.flush()
    try:
        rc = subprocess.call(cmd, timeout=240)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "lock_harness: every cell as expected (exit status 0)", rc)
    try:
        with open(out) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        check(False, "lock_harness wrote its JSON report", e)
        return
    cells = report["cells"]
    bad = [c for c in cells if c["result"] not in ("ok", "n/a")]
    check(not bad and len(cells) >= 48 + 8 + 4 + 4,
          "lock_harness JSON: %d cells, none deviating or skipped" % len(cells),
          "; ".join("%s: %s" % (c["id"], c["observed"]) for c in bad))


def run_smb_local(daemon, path):
    """Sections 1-6: SMB against local fcntl/flock locks."""
    smb = Smb(daemon.port)
    holders = []

    def holder():
        h = Holder(path)
        holders.append(h)
        return h

    try:
        # 1. Local fcntl write lock [0,100) vs SMB LOCK, READ, WRITE.
        h = holder()
        r = h.cmd("setlk w 0 100")
        check(r.startswith("ok"), "1: local F_SETLK write [0,100)", r)
        st = smb.lock(10, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
        check(st == LOCK_NOT_GRANTED,
              "1: SMB LOCK exclusive [10,20) -> STATUS_LOCK_NOT_GRANTED", status_name(st))
        st, _ = smb.read(10, 10)
        check(st == FILE_LOCK_CONFLICT,
              "1: SMB READ [10,20) -> STATUS_FILE_LOCK_CONFLICT", status_name(st))
        st = smb.write(10, b"x" * 10)
        check(st == FILE_LOCK_CONFLICT,
              "1: SMB WRITE [10,20) -> STATUS_FILE_LOCK_CONFLICT", status_name(st))
        st, data = smb.read(200, 10)
        check(st == STATUS_SUCCESS and data == bytes(range(200, 210)),
              "1: SMB READ [200,210) outside the lock -> OK, right bytes",
              "%s %r" % (status_name(st), data))
        h.close()

        # 2. Local flock LOCK_EX vs SMB LOCK.
        h = holder()
        r = h.cmd("flock exnb")
        check(r.startswith("ok"), "2: local flock LOCK_EX", r)
        st = smb.lock(0, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
        check(st == LOCK_NOT_GRANTED,
              "2: SMB LOCK exclusive [0,10) under flock -> STATUS_LOCK_NOT_GRANTED",
              status_name(st))
        if st == STATUS_SUCCESS:
            smb.lock(0, 10, UNLOCK)
        # Unlock before the process goes: the kernel drops a FUSE flock in
        # its RELEASE request, which it sends after close() has returned,
        # so section 3 could otherwise still meet this lock.
        h.cmd("flock un")
        h.close()

        # 3. SMB exclusive [0,100) vs local fcntl, F_GETLK, flock.
        st = smb.lock(0, 100, EXCLUSIVE | FAIL_IMMEDIATELY)
        check(st == STATUS_SUCCESS, "3: SMB LOCK exclusive [0,100)", status_name(st))
        h = holder()
        r = h.cmd("setlk w 10 10")
        check(is_errno(r, "EAGAIN", "EACCES"),
              "3: local F_SETLK write [10,20) -> EAGAIN/EACCES", r)
        r = h.cmd("getlk w 10 10")
        a = r.split()
        check(a[0] == "lk" and a[1] != a[2],
              "3: local F_GETLK [10,20) reports a conflicting lock", r)
        r = h.cmd("flock exnb")
        check(is_errno(r, "EWOULDBLOCK", "EAGAIN"),
              "3: local flock LOCK_EX|LOCK_NB -> EWOULDBLOCK", r)
        h.close()
        st = smb.lock(0, 100, UNLOCK)
        check(st == STATUS_SUCCESS, "3: SMB unlock [0,100)", status_name(st))

        # 4. SMB shared [0,100) vs local read and write locks.
        st = smb.lock(0, 100, SHARED | FAIL_IMMEDIATELY)
        check(st == STATUS_SUCCESS, "4: SMB LOCK shared [0,100)", status_name(st))
        h = holder()
        r = h.cmd("setlk r 0 10")
        check(r.startswith("ok"), "4: local F_SETLK read [0,10) -> granted", r)
        h2 = holder()
        r = h2.cmd("setlk w 50 10")
        check(is_errno(r, "EAGAIN", "EACCES"),
              "4: local F_SETLK write [50,60) -> EAGAIN/EACCES", r)
        r = h.cmd("setlk w 0 10")
        check(is_errno(r, "EAGAIN", "EACCES"),
              "4: local upgrade to write [0,10) -> EAGAIN/EACCES", r)
        h.close()
        h2.close()
        st = smb.lock(0, 100, UNLOCK)
        check(st == STATUS_SUCCESS, "4: SMB unlock shared [0,100)", status_name(st))

        # 5a. SMB holds [0,10); a local F_SETLKW waits; SMB unlocks.
        st = smb.lock(0, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
        check(st == STATUS_SUCCESS, "5: SMB LOCK exclusive [0,10)", status_name(st))
        h = holder()
        h.send("setlkw w 0 10")
        r = h.reply(0.5)
        check(r is None, "5: local F_SETLKW write [0,10) blocks while SMB holds it", r)
        t0 = time.monotonic()
        st = smb.lock(0, 10, UNLOCK)
        check(st == STATUS_SUCCESS, "5: SMB unlock [0,10)", status_name(st))
        if r is None:
            r = h.reply(5)
            dt = time.monotonic() - t0
            check(r is not None and r.startswith("ok") and dt < 2,
                  "5: local F_SETLKW granted %.3f s after the SMB unlock (< 2 s)" % dt, r)
        h.close()

        # 5b. Local holds [0,10); a blocking SMB LOCK goes pending; local
        # releases; the SMB final answer is success.
        h = holder()
        r = h.cmd("setlk w 0 10")
        check(r.startswith("ok"), "5: local F_SETLK write [0,10)", r)
        mid = smb.send_lock(0, 10, EXCLUSIVE)
        interim = smb.recv_raw(5)
        got = None if interim is None else status_name(interim["Status"])
        pending = interim is not None and interim["Status"] == STATUS_PENDING \
            and interim["MessageID"] == mid
        check(pending and interim["Flags"] & SMB2_FLAGS_ASYNC_COMMAND,
              "5: blocking SMB LOCK [0,10) -> interim STATUS_PENDING (async)", got)
        final = interim if not pending else None
        if pending:
            time.sleep(0.3)
            t0 = time.monotonic()
            r = h.cmd("setlk u 0 10")
            check(r.startswith("ok"), "5: local unlock [0,10)", r)
            final = smb.recv_raw(5)
            dt = time.monotonic() - t0
            got = None if final is None else status_name(final["Status"])
            check(final is not None and final["Status"] == STATUS_SUCCESS
                  and final["MessageID"] == mid and dt < 2,
                  "5: SMB LOCK final answer STATUS_SUCCESS %.3f s after the local unlock"
                  " (< 2 s)" % dt, got)
        h.close()
        if final is not None and final["Status"] == STATUS_SUCCESS:
            h = holder()
            r = h.cmd("setlk w 0 10")
            check(is_errno(r, "EAGAIN", "EACCES"),
                  "5: SMB now holds [0,10): local F_SETLK write -> EAGAIN/EACCES", r)
            h.close()
            st = smb.lock(0, 10, UNLOCK)
            check(st == STATUS_SUCCESS, "5: SMB unlock [0,10)", status_name(st))

        # 6. Closing the SMB handle releases its locks.
        st = smb.lock(0, 100, EXCLUSIVE | FAIL_IMMEDIATELY)
        check(st == STATUS_SUCCESS, "6: SMB LOCK exclusive [0,100)", status_name(st))
        h = holder()
        r = h.cmd("setlk w 10 10")
        check(is_errno(r, "EAGAIN", "EACCES"),
              "6: local F_SETLK write [10,20) while SMB holds it -> EAGAIN/EACCES", r)
        smb.close_file()
        r = h.cmd("setlk w 10 10")
        check(r.startswith("ok"),
              "6: after SMB CLOSE, local F_SETLK write [10,20) -> granted", r)
        h.close()
    finally:
        for h in holders:
            h.close()
        smb.logoff()


class Rpcbind:
    """Debian's rpcbind on 127.0.0.1:111 of the private namespace: where
    nlm_lockcli registers its callback port and the server looks it up."""

    def __init__(self, tmp):
        self.log = os.path.join(tmp, "rpcbind.log")
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen(["/usr/sbin/rpcbind", "-f", "-w"],
                                         stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not port_accepts(PMAP_PORT):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("rpcbind did not serve 127.0.0.1:%d" % PMAP_PORT)
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def enter_namespace():
    """Runs this script again in a private network + mount namespace."""
    if os.geteuid() != 0:
        print("FAIL: needs root (a private network namespace with rpcbind on port %d)"
              % PMAP_PORT)
        sys.exit(1)
    env = dict(os.environ, **{NS_ENV: "1"})
    sys.stdout.flush()
    os.execvpe("unshare", ["unshare", "--net", "--mount", sys.executable,
                           os.path.abspath(__file__)] + sys.argv[1:], env)


def prepare_namespace():
    """Loopback up; a private /run for rpcbind (the host's stays untouched:
    unshare made every mount private to this namespace)."""
    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    subprocess.check_call(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"])
    os.makedirs("/run/rpcbind", exist_ok=True)


def main():
    if len(sys.argv) != 3:
        print("usage: smb_lock_matrix_test.py CONCORDFS_BINARY NLM_LOCKCLI")
        return 2
    binary, tool = (os.path.abspath(a) for a in sys.argv[1:3])
    for exe in (binary, tool):
        if not os.access(exe, os.X_OK):
            print("FAIL: %s is not an executable" % exe)
            return 1
    if os.environ.get(NS_ENV) != "1":
        enter_namespace()
    start = time.monotonic()
    prepare_namespace()
    tmp = tempfile.mkdtemp(prefix="cfs-smblock-", dir="/tmp")
    daemon = Daemon(binary, tmp)
    rpcbind = None
    try:
        rpcbind = Rpcbind(tmp)
        daemon.start()
        print("concordfs: SMB on 127.0.0.1:%d, NFS/NLM on 127.0.0.1:%d, mount %s"
              % (daemon.port, daemon.nfs_port, daemon.mnt))
        run(daemon, tool)
    except Exception as e:
        print("FAIL: %s: %s" % (type(e).__name__, e))
        failures.append(str(e))
    finally:
        if failures:
            daemon.tail()
            tail_file(os.path.join(tmp, "nlm_lockcli.log"))
        daemon.stop()
        if rpcbind is not None:
            rpcbind.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed checks, %.1f s" % (len(failures), time.monotonic() - start))
    if failures:
        return 1
    print("smb lock matrix: ok")
    return 0


def tail_file(path, n=20):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()[-n:]
    except OSError:
        return
    if lines:
        print("---- last lines of %s ----" % path)
        print("\n".join(lines))
        print("----")


if __name__ == "__main__":
    sys.exit(main())
