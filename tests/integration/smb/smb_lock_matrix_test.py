#!/usr/bin/env python3
"""SMB byte-range locks and local locks through the FUSE mount exclude each
other both ways, with real clients: impacket's SMB2 client (LOCK requests
built from its structures, since its high-level API has none) and the
kernel's FUSE client driven by fcntl/flock in separate processes (distinct
lock owners).

  smb_lock_matrix_test.py CONCORDFS_BINARY

Prints one line per check; exits non-zero on any deviation.
"""
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# impacket is a Debian package (python3-impacket): when the python3 found
# first on PATH is another interpreter, run under the system one.
try:
    import impacket  # noqa: F401
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL: impacket not installed (apt-get install python3-impacket)")
    sys.exit(1)

from impacket import nt_errors
from impacket.nmb import NetBIOSTimeout
from impacket.smb3 import SessionError
from impacket.smb3structs import (
    FILE_READ_DATA, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_WRITE_DATA,
    SMB2_DIALECT_21, SMB2_FLAGS_ASYNC_COMMAND, SMB2_LOCK, SMB2Lock,
    SMB2_LOCK_ELEMENT, SMB2Packet)
from impacket.smbconnection import SMBConnection

SHARED, EXCLUSIVE, UNLOCK, FAIL_IMMEDIATELY = 0x1, 0x2, 0x4, 0x10
STATUS_SUCCESS = nt_errors.STATUS_SUCCESS
STATUS_PENDING = nt_errors.STATUS_PENDING
LOCK_NOT_GRANTED = nt_errors.STATUS_LOCK_NOT_GRANTED      # 0xC0000055
FILE_LOCK_CONFLICT = nt_errors.STATUS_FILE_LOCK_CONFLICT  # 0xC0000054
FILE_NAME = "lockfile"

failures = []


def status_name(code):
    return nt_errors.ERROR_MESSAGES.get(code, ("0x%08X" % code,))[0]


def check(cond, what, got=""):
    if cond:
        print("ok: %s" % what)
    else:
        print("FAIL: %s%s" % (what, " (got %s)" % got if got != "" else ""))
        failures.append(what)
    sys.stdout.flush()


# --- Local lock holders: one process each (its own lock owner), commands on
# stdin, one answer line per command on stdout.
HOLDER = r'''
import errno, fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
T = {"r": fcntl.F_RDLCK, "w": fcntl.F_WRLCK, "u": fcntl.F_UNLCK}
def flk(t, start, length):
    return struct.pack("hhqqi4x", T[t], os.SEEK_SET, int(start), int(length), 0)
print("ready", flush=True)
for line in sys.stdin:
    a = line.split()
    t0 = time.monotonic()
    try:
        if a[0] == "setlk":
            fcntl.fcntl(fd, fcntl.F_SETLK, flk(*a[1:]))
        elif a[0] == "setlkw":
            fcntl.fcntl(fd, fcntl.F_SETLKW, flk(*a[1:]))
        elif a[0] == "getlk":
            r = fcntl.fcntl(fd, fcntl.F_GETLK, flk(*a[1:]))
            typ, _, start, length, pid = struct.unpack("hhqqi4x", r)
            print("lk %d %d %d %d %d" % (typ, fcntl.F_UNLCK, start, length, pid), flush=True)
            continue
        elif a[0] == "flock":
            fcntl.flock(fd, {"ex": fcntl.LOCK_EX, "exnb": fcntl.LOCK_EX | fcntl.LOCK_NB,
                             "un": fcntl.LOCK_UN}[a[1]])
        print("ok %.3f" % (time.monotonic() - t0), flush=True)
    except OSError as e:
        print("err %s" % errno.errorcode.get(e.errno, e.errno), flush=True)
'''


class Holder:
    def __init__(self, path):
        self.p = subprocess.Popen([sys.executable, "-c", HOLDER, path],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        r = self.reply(10)
        if r != "ready":
            raise RuntimeError("local lock holder did not start: %r" % r)

    def send(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def reply(self, timeout):
        """The next answer line, or None if none within timeout seconds."""
        ready, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not ready:
            return None
        return self.p.stdout.readline().strip()

    def cmd(self, cmd, timeout=10):
        self.send(cmd)
        r = self.reply(timeout)
        if r is None:
            raise RuntimeError("local '%s' did not answer within %s s" % (cmd, timeout))
        return r

    def close(self):
        """Ends the process (closing the file releases its locks)."""
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        if self.p.stdin.closed:
            return
        self.p.stdin.close()
        self.p.stdout.close()


# --- SMB: LOCK requests through impacket's SMB3 connection object.
class Smb:
    def __init__(self, port):
        self.conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port,
                                  preferredDialect=SMB2_DIALECT_21, timeout=30)
        self.conn.login("alice", "Secret-1")
        self.s = self.conn.getSMBServer()
        self.tid = self.conn.connectTree("share")
        self.fid = self.conn.openFile(self.tid, FILE_NAME,
                                      desiredAccess=FILE_READ_DATA | FILE_WRITE_DATA,
                                      shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE)

    def send_lock(self, offset, length, flags):
        packet = self.s.SMB_PACKET()
        packet["Command"] = SMB2_LOCK
        packet["TreeID"] = self.tid
        req = SMB2Lock()
        req["FileID"] = self.fid
        req["LockCount"] = 1
        el = SMB2_LOCK_ELEMENT()
        el["Offset"] = offset
        el["Length"] = length
        el["Flags"] = flags
        req["Locks"] = el.getData()
        packet["Data"] = req
        return self.s.sendSMB(packet)

    def recv_raw(self, timeout):
        """One response as sent (interim STATUS_PENDING included), or None."""
        try:
            data = self.s._NetBIOSSession.recv_packet(timeout)
        except (NetBIOSTimeout, socket.timeout):
            return None
        return SMB2Packet(data.get_trailer())

    def lock(self, offset, length, flags):
        """NT status of a LOCK request that must answer at once."""
        mid = self.send_lock(offset, length, flags)
        ans = self.s.recvSMB(mid)
        return ans["Status"]

    def read(self, offset, length):
        """(status, data) of an SMB READ."""
        try:
            return STATUS_SUCCESS, self.s.read(self.tid, self.fid, offset, length)
        except SessionError as e:
            return e.get_error_code(), b""

    def write(self, offset, data):
        try:
            self.s.write(self.tid, self.fid, data, offset, len(data))
            return STATUS_SUCCESS
        except SessionError as e:
            return e.get_error_code()

    def close_file(self):
        self.conn.closeFile(self.tid, self.fid)

    def logoff(self):
        try:
            self.conn.logoff()
        except Exception:
            pass
        try:
            self.conn.close()
        except Exception:
            pass


# --- The daemon under test.
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


class Daemon:
    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp
        self.mnt = os.path.join(tmp, "mnt")
        self.log = os.path.join(tmp, "daemon.log")
        self.proc = None
        os.makedirs(self.mnt, exist_ok=True)

    def start(self):
        for _ in range(3):  # a port picked free may be taken by then
            self.port = free_port()
            cfg = os.path.join(self.tmp, "concordfs.yaml")
            with open(cfg, "w") as f:
                f.write(f"""data_dir: {self.tmp}/data
log_level: warn
locks: {{grace_period: 0}}
mount: {{enabled: true, path: {self.mnt}, allow_other: true}}
nfs: {{enabled: false}}
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
""")
            with open(self.log, "a") as logf:
                self.proc = subprocess.Popen([self.binary, "--config", cfg],
                                             stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if subprocess.call(["mountpoint", "-q", self.mnt]) == 0 \
                        and port_accepts(self.port):
                    return
                time.sleep(0.1)
            if self.proc.poll() is None:
                break  # running but not serving within 10 s
            self.proc = None
            if "address already in use" not in self.log_text().lower():
                break
        self.tail()
        raise RuntimeError("concordfs did not serve SMB and the mount within 10 s")

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self, n=30):
        lines = self.log_text().splitlines()[-n:]
        if lines:
            print("---- last lines of the daemon's log (%s) ----" % self.log)
            print("\n".join(lines))
            print("----")

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if subprocess.call(["mountpoint", "-q", self.mnt]) == 0:
            subprocess.call(["umount", "-l", self.mnt])


def is_errno(reply, *names):
    return reply is not None and reply.split()[0] == "err" and reply.split()[1] in names


def run(daemon):
    path = os.path.join(daemon.mnt, FILE_NAME)
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 16)  # 4096 bytes
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


def main():
    if len(sys.argv) != 2:
        print("usage: smb_lock_matrix_test.py CONCORDFS_BINARY")
        return 2
    binary = os.path.abspath(sys.argv[1])
    if not os.access(binary, os.X_OK):
        print("FAIL: %s is not an executable" % binary)
        return 1
    start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="cfs-smblock-", dir="/tmp")
    daemon = Daemon(binary, tmp)
    try:
        daemon.start()
        print("concordfs: SMB on 127.0.0.1:%d, mount %s" % (daemon.port, daemon.mnt))
        run(daemon)
    except Exception as e:
        print("FAIL: %s: %s" % (type(e).__name__, e))
        failures.append(str(e))
    finally:
        if failures:
            daemon.tail()
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed checks, %.1f s" % (len(failures), time.monotonic() - start))
    if failures:
        return 1
    print("smb lock matrix: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
