#!/usr/bin/env python3
"""Byte-range locks of every protocol exclude each other on one file, with
real clients: impacket's SMB2 client (LOCK requests built from its
structures, since its high-level API has none), the kernel's FUSE client
driven by fcntl/flock in separate processes (distinct lock owners), and NLM
v4 through libnfs (nlm_lockcli, which also plays the client's NLM service to
receive GRANTED callbacks).

  smb_lock_matrix_test.py CONCORDFS_BINARY NLM_LOCKCLI

Sections 1-6: SMB against local fcntl/flock, both ways. Section 7, the
matrix: holder in {fcntl, flock, nlm, smb} x contender in the same four x
{test, non-blocking lock, blocking lock granted on the holder's unlock},
against DESIGN.md "The lock model" (local fcntl and flock are independent;
everything else conflicts, same-protocol different owners included).
Section 8: SMB READ/WRITE under NLM and flock locks; 9: deadlocks between an
SMB waiter and a local waiter, closed from either side; 10: an SMB open that
denies writing against a local writer (share modes).

The server looks a client's NLM callback port up at the client's port 111,
so the script runs itself in a private network + mount namespace (root
needed): only loopback, a tmpfs on /run, and Debian's rpcbind on
127.0.0.1:111 where nlm_lockcli registers; the daemon's own portmapper is
off. Every other port is picked free; all traffic stays on 127.0.0.1.

Prints one line per check and the matrix as tables (expected/observed per
cell); exits non-zero on any deviation.
"""
import fcntl as fcntl_mod
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
    FILE_OPEN, FILE_READ_DATA, FILE_SHARE_READ, FILE_SHARE_WRITE,
    FILE_WRITE_DATA,
    SMB2_DIALECT_21, SMB2_FLAGS_ASYNC_COMMAND, SMB2_LOCK, SMB2Lock,
    SMB2_LOCK_ELEMENT, SMB2Packet)
from impacket.smbconnection import SMBConnection
from impacket.smbconnection import SessionError as ConnectionSessionError

SHARED, EXCLUSIVE, UNLOCK, FAIL_IMMEDIATELY = 0x1, 0x2, 0x4, 0x10
STATUS_SUCCESS = nt_errors.STATUS_SUCCESS
STATUS_PENDING = nt_errors.STATUS_PENDING
LOCK_NOT_GRANTED = nt_errors.STATUS_LOCK_NOT_GRANTED      # 0xC0000055
FILE_LOCK_CONFLICT = nt_errors.STATUS_FILE_LOCK_CONFLICT  # 0xC0000054
SHARING_VIOLATION = nt_errors.STATUS_SHARING_VIOLATION    # 0xC0000043
FILE_NAME = "lockfile"
SHARE_FILE_NAME = "sharefile"
NS_ENV = "CFS_LOCK_MATRIX_IN_NS"
PMAP_PORT = 111  # where the server asks for a client's NLM port

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


class LineReader:
    """Lines from a child's stdout, read unbuffered (os.read), so that two
    lines arriving together are never left in a buffer select() cannot see."""

    def __init__(self, fd):
        self.fd, self.buf, self.eof = fd, b"", False

    def line(self, timeout):
        """The next line, or None if none within timeout seconds (or EOF)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.eof = True
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()


class Holder:
    def __init__(self, path):
        self.p = subprocess.Popen([sys.executable, "-c", HOLDER, path],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.out = LineReader(self.p.stdout.fileno())
        r = self.reply(10)
        if r != "ready":
            raise RuntimeError("local lock holder did not start: %r" % r)

    def send(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def reply(self, timeout):
        """The next answer line, or None if none within timeout seconds."""
        return self.out.line(timeout)

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
    """One SMB connection and session (so its opens are lock owners of
    their own) with FILE_NAME open for reading and writing, sharing both."""

    def __init__(self, port):
        self.conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port,
                                  preferredDialect=SMB2_DIALECT_21, timeout=30)
        self.conn.login("alice", "Secret-1")
        self.s = self.conn.getSMBServer()
        self.tid = self.conn.connectTree("share")
        self.fid = self.conn.openFile(self.tid, FILE_NAME,
                                      desiredAccess=FILE_READ_DATA | FILE_WRITE_DATA,
                                      shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE)

    def try_open(self, name, access, share):
        """(status, file id or None) of a CREATE opening an existing file."""
        try:
            fid = self.conn.openFile(self.tid, name, desiredAccess=access,
                                     shareMode=share,
                                     creationDisposition=FILE_OPEN)
            return STATUS_SUCCESS, fid
        except SessionError as e:
            return e.get_error_code(), None
        except ConnectionSessionError as e:  # openFile wraps smb3's error
            return e.getErrorCode(), None

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


# --- NLM: nlm_lockcli, one process for every NLM owner (svid) of the test.
class NlmCli:
    def __init__(self, tool, nfs_port, log):
        self.log = log
        with open(log, "a") as logf:
            self.p = subprocess.Popen([tool, str(nfs_port), str(PMAP_PORT), FILE_NAME],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=logf, text=True, bufsize=1)
        self.out = LineReader(self.p.stdout.fileno())
        self.callbacks = []  # "callback granted ..." lines not yet claimed
        r = self.reply(20)
        if r is None or not r.startswith("ready"):
            raise RuntimeError("nlm_lockcli did not start: %r (stderr in %s)" % (r, log))

    def reply(self, timeout):
        """The next answer line (callback lines are set aside), or None."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.out.line(max(0, deadline - time.monotonic()))
            if line is None or not line.startswith("callback "):
                return line
            self.callbacks.append(line)

    def cmd(self, cmd, timeout=10):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        r = self.reply(timeout)
        if r is None:
            raise RuntimeError("nlm_lockcli '%s' did not answer within %s s" % (cmd, timeout))
        return r

    def granted(self, svid, timeout):
        """The GRANTED callback line for svid, waiting up to timeout s."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.callbacks:
                if ("svid=%d " % svid) in line + " ":
                    self.callbacks.remove(line)
                    return line
            line = self.out.line(max(0, deadline - time.monotonic()))
            if line is None:
                return None
            if line.startswith("callback "):
                self.callbacks.append(line)
            else:
                raise RuntimeError("nlm_lockcli: unexpected line %r" % line)

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()


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
    def __init__(self, binary, tmp, smb_extra=""):
        # smb_extra: more keys of the smb section, one "key: value" per line.
        self.binary, self.tmp, self.smb_extra = binary, tmp, smb_extra
        self.mnt = os.path.join(tmp, "mnt")
        self.log = os.path.join(tmp, "daemon.log")
        self.proc = None
        os.makedirs(self.mnt, exist_ok=True)

    def start(self):
        for _ in range(3):  # a port picked free may be taken by then
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
            with open(self.log, "a") as logf:
                self.proc = subprocess.Popen([self.binary, "--config", cfg],
                                             stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if subprocess.call(["mountpoint", "-q", self.mnt]) == 0 \
                        and port_accepts(self.port) and port_accepts(self.nfs_port):
                    return
                time.sleep(0.1)
            if self.proc.poll() is None:
                break  # running but not serving within 10 s
            self.proc = None
            if "address already in use" not in self.log_text().lower():
                break
        self.tail()
        raise RuntimeError("concordfs did not serve SMB, NFS and the mount within 10 s")

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


# Names errno.errorcode may give for the same number on Linux.
ERRNO_ALIASES = {"EDEADLK": "EDEADLOCK", "EDEADLOCK": "EDEADLK",
                 "EAGAIN": "EWOULDBLOCK", "EWOULDBLOCK": "EAGAIN"}


def is_errno(reply, *names):
    names = set(names) | {ERRNO_ALIASES[n] for n in names if n in ERRNO_ALIASES}
    return reply is not None and reply.split()[0] == "err" and reply.split()[1] in names


# --- Section 7: the matrix. Every actor is a lock owner of its own; the
# holder takes an exclusive lock on [0,100) (flock: the whole file), the
# contender asks for an exclusive lock on [10,20) (flock: the whole file).
KINDS = ("fcntl", "flock", "nlm", "smb")
OPS = ("test", "nb-lock", "blocking")
HOLD = (0, 100)   # offset, length
WANT = (10, 10)
WAIT_S = 0.3      # a blocked request must still be waiting after this
GRANT_S = 2.0     # and be granted this soon after the holder's unlock
NLM_HOLDER_SVID, NLM_CONTENDER_SVID, NLM_PROBE_SVID = 1001, 1002, 1999


def expected_conflict(holder, contender):
    """DESIGN.md: local fcntl and flock locks do not conflict with each
    other (Linux); every other pair does, same protocol included (the two
    actors are always different owners)."""
    return {holder, contender} != {"fcntl", "flock"}


def local_outcome(r):
    if r is None:
        return "pending"
    if r.startswith("ok"):
        return "granted"
    if is_errno(r, "EAGAIN", "EACCES", "EWOULDBLOCK"):
        return "refused"
    if is_errno(r, "EDEADLK"):
        return "deadlock"
    return "error"


def smb_outcome(status):
    return {STATUS_SUCCESS: "granted", LOCK_NOT_GRANTED: "refused"}.get(
        status, status_name(status))


def nlm_outcome(r):
    word = r.split()[0] if r else "none"
    return {"granted": "granted", "denied": "refused", "deadlck": "deadlock",
            "blocked": "pending"}.get(word, word)


# Each actor: hold()/release() as the holder; test(), try_lock(), unlock(),
# start_wait()/finish_wait() as the contender; reset() after an anomaly.
# Outcomes: granted, refused, pending, deadlock, or an error's name.
class FcntlActor:
    kind = "fcntl"

    def __init__(self, path):
        self.path, self.h = path, Holder(path)

    def owner_id(self):
        return self.h.p.pid

    def reset(self):
        self.h.close()
        self.h = Holder(self.path)

    def hold(self):
        r = self.h.cmd("setlk w %d %d" % HOLD)
        return r.startswith("ok"), "F_SETLK " + r

    def release(self):
        self.h.cmd("setlk u %d %d" % HOLD)

    def test(self):
        r = self.h.cmd("getlk w %d %d" % WANT)
        a = r.split()
        if a[0] != "lk":
            return "error", "F_GETLK " + r, {}
        typ, unlck, start, length, pid = (int(x) for x in a[1:])
        if typ == unlck:
            return "free", "F_GETLK: F_UNLCK", {}
        return "locked", "F_GETLK: type %d start %d len %d pid %d" % (
            typ, start, length, pid), {"type": typ, "start": start, "len": length,
                                       "pid": pid}

    def try_lock(self):
        r = self.h.cmd("setlk w %d %d" % WANT)
        return local_outcome(r), "F_SETLK " + r

    def unlock(self):
        self.h.cmd("setlk u %d %d" % WANT)

    def start_wait(self):
        self.h.send("setlkw w %d %d" % WANT)
        r = self.h.reply(WAIT_S)
        return local_outcome(r), "F_SETLKW " + (r or "waits")

    def finish_wait(self, timeout):
        r = self.h.reply(timeout)
        return local_outcome(r), "F_SETLKW " + (r or "no answer")


class FlockActor(FcntlActor):
    kind = "flock"

    def hold(self):
        r = self.h.cmd("flock exnb")
        return r.startswith("ok"), "flock " + r

    def release(self):
        self.h.cmd("flock un")

    def test(self):
        return None  # flock(2) has no test

    def try_lock(self):
        r = self.h.cmd("flock exnb")
        return local_outcome(r), "flock LOCK_EX|LOCK_NB " + r

    def unlock(self):
        self.h.cmd("flock un")

    def start_wait(self):
        self.h.send("flock ex")
        r = self.h.reply(WAIT_S)
        return local_outcome(r), "flock LOCK_EX " + (r or "waits")

    def finish_wait(self, timeout):
        r = self.h.reply(timeout)
        return local_outcome(r), "flock LOCK_EX " + (r or "no answer")


class NlmActor:
    kind = "nlm"

    def __init__(self, cli, svid):
        self.cli, self.svid = cli, svid

    def owner_id(self):
        return self.svid

    def reset(self):
        self.cli.cmd("cancel %d %d %d x" % ((self.svid,) + WANT))
        self.cli.cmd("unlock %d 0 0" % self.svid)

    def hold(self):
        r = self.cli.cmd("lock %d %d %d x" % ((self.svid,) + HOLD))
        return r == "granted", "NLM LOCK " + r

    def release(self):
        self.cli.cmd("unlock %d %d %d" % ((self.svid,) + HOLD))

    def test(self):
        r = self.cli.cmd("test %d %d %d x" % ((self.svid,) + WANT))
        if r == "granted":
            return "free", "NLM TEST granted", {}
        if not r.startswith("denied"):
            return nlm_outcome(r), "NLM TEST " + r, {}
        info = dict(kv.split("=", 1) for kv in r.split()[1:])
        return "locked", "NLM TEST " + r, info

    def try_lock(self):
        r = self.cli.cmd("lock %d %d %d x" % ((self.svid,) + WANT))
        return nlm_outcome(r), "NLM LOCK " + r

    def unlock(self):
        self.cli.cmd("unlock %d %d %d" % ((self.svid,) + WANT))

    def start_wait(self):
        r = self.cli.cmd("lockw %d %d %d x" % ((self.svid,) + WANT))
        if r != "blocked":
            return nlm_outcome(r), "NLM LOCK(block) " + r
        g = self.cli.granted(self.svid, WAIT_S)
        if g is not None:
            return "granted", "NLM LOCK(block) blocked, then at once " + g
        return "pending", "NLM LOCK(block) blocked"

    def finish_wait(self, timeout):
        g = self.cli.granted(self.svid, timeout)
        return ("granted", g) if g else ("pending", "no GRANTED callback")


class SmbActor:
    kind = "smb"

    def __init__(self, connect):
        self.connect, self.smb, self.mid = connect, connect(), None

    def owner_id(self):
        return None

    def reset(self):
        self.smb.logoff()
        self.smb = self.connect()

    def hold(self):
        st = self.smb.lock(HOLD[0], HOLD[1], EXCLUSIVE | FAIL_IMMEDIATELY)
        return st == STATUS_SUCCESS, "SMB LOCK " + status_name(st)

    def release(self):
        self.smb.lock(HOLD[0], HOLD[1], UNLOCK)

    def test(self):
        return None  # SMB2 has no lock test

    def try_lock(self):
        st = self.smb.lock(WANT[0], WANT[1], EXCLUSIVE | FAIL_IMMEDIATELY)
        return smb_outcome(st), "SMB LOCK(fail immediately) " + status_name(st)

    def unlock(self):
        self.smb.lock(WANT[0], WANT[1], UNLOCK)

    def _answer(self, ans, what):
        if ans is None:
            return "pending", what + " no answer"
        if ans["MessageID"] != self.mid:
            return "error", what + " answer to message %d" % ans["MessageID"]
        return smb_outcome(ans["Status"]), what + " " + status_name(ans["Status"])

    def start_wait(self):
        self.mid = self.smb.send_lock(WANT[0], WANT[1], EXCLUSIVE)
        first = self.smb.recv_raw(5)
        if first is None or first["Status"] != STATUS_PENDING:
            return self._answer(first, "SMB LOCK(blocking)")
        if not first["Flags"] & SMB2_FLAGS_ASYNC_COMMAND:
            return "error", "SMB LOCK(blocking) STATUS_PENDING not async"
        final = self.smb.recv_raw(WAIT_S)
        if final is None:
            return "pending", "SMB LOCK(blocking) STATUS_PENDING"
        return self._answer(final, "SMB LOCK(blocking) STATUS_PENDING, then at once")

    def finish_wait(self, timeout):
        return self._answer(self.smb.recv_raw(timeout), "SMB LOCK final")


def reported_holder_error(holder, contender, info):
    """What is wrong with the holder a test reported (None: nothing).
    F_GETLK must say F_WRLCK, NLM TEST an exclusive holder; for a local fcntl
    or NLM holder they must also name it (pid or svid) and its range."""
    h = holder.kind
    if contender.kind == "fcntl":
        if info["type"] != fcntl_mod.F_WRLCK:
            return "type %d, not F_WRLCK" % info["type"]
        if h == "fcntl" and (info["pid"], info["start"], info["len"]) != \
                (holder.owner_id(), HOLD[0], HOLD[1]):
            return "not pid %d [0,100)" % holder.owner_id()
    if contender.kind == "nlm":
        if info.get("excl") != "1":
            return "not exclusive"
        got = (int(info["svid"]), int(info["off"]), int(info["len"]))
        if h in ("fcntl", "nlm") and got != (holder.owner_id(),) + HOLD:
            return "not svid %d [0,100)" % holder.owner_id()
        if h == "nlm" and info["oh"] != "oh-%d" % holder.owner_id():
            return "oh %s" % info["oh"]
    return None


def run_cell(op, holder, contender, probe):
    """Runs one cell; returns (expected, observed)."""
    H, C = holder.kind, contender.kind
    name = "7 %s: holder %s, contender %s" % (op, H, C)
    conflict = expected_conflict(H, C)
    ok, detail = holder.hold()
    if not ok:
        check(False, name + ": the holder's lock", detail)
        holder.reset()
        return ("?", "no holder")
    released = False
    if op == "test":
        res = contender.test()
        if res is None:
            holder.release()
            print("n/a: %s (no test operation)" % name)
            return ("n/a", "n/a")
        expected = "locked" if conflict else "free"
        observed, detail, info = res
        if observed == "locked":
            wrong = reported_holder_error(holder, contender, info)
            if wrong:
                observed, detail = "wrong-holder", detail + " (%s)" % wrong
    elif op == "nb-lock":
        expected = "refused" if conflict else "granted"
        observed, detail = contender.try_lock()
        if observed == "granted":
            contender.unlock()
    else:
        expected = "waited" if conflict else "granted"
        observed, detail = contender.start_wait()
        if observed == "pending":
            t0 = time.monotonic()
            holder.release()
            released = True
            final, more = contender.finish_wait(5)
            dt = time.monotonic() - t0
            detail += "; holder unlocked; %s after %.3f s" % (more, dt)
            if final == "granted":
                observed = "waited" if dt < GRANT_S else "late"
            elif final == "pending":
                observed = "hung"
                contender.reset()
            else:
                observed = "waited-then-" + final
        if observed in ("waited", "late", "granted"):
            contender.unlock()
    if not released:
        holder.release()
    check(observed == expected, "%s: %s (expected %s): %s" % (name, observed, expected, detail))
    left = probe()
    if left != "granted":
        check(False, name + ": no lock is left on the file afterwards", left)
        for actor in (holder, contender):
            actor.reset()
    return (expected, observed)


def print_matrix(results):
    print("lock matrix: holder rows x contender columns; each cell expected/observed"
          " (! = deviation)")
    print("  test: locked = F_GETLK/NLM TEST report the holder, free = not;"
          " flock and SMB have no test (n/a)")
    print("  nb-lock: F_SETLK, flock LOCK_NB, NLM LOCK block=false, SMB LOCK"
          " FAIL_IMMEDIATELY")
    print("  blocking: F_SETLKW, flock LOCK_EX, NLM LOCK block=true (GRANTED"
          " callback), SMB LOCK (PENDING, then final);")
    print("    waited = blocked %.1f s, granted < %.0f s after the holder's unlock"
          % (WAIT_S, GRANT_S))
    width = 20
    for op in OPS:
        print("")
        print(("  %-9s|" % op + "".join(" %-*s" % (width - 1, c) for c in KINDS)).rstrip())
        print("  " + "-" * 9 + "+" + "-" * (width * len(KINDS)))
        for h in KINDS:
            row = "  %-9s|" % h
            for c in KINDS:
                exp, obs = results.get((op, h, c), ("-", "-"))
                cell = "n/a" if exp == "n/a" else "%s/%s%s" % (
                    exp, obs, "" if exp == obs else " !")
                row += " %-*s" % (width - 1, cell)
            print(row.rstrip())
    print("")
    sys.stdout.flush()


def section_matrix(daemon, path, cli):
    def connect():
        return Smb(daemon.port)

    holders = {"fcntl": FcntlActor(path), "flock": FlockActor(path),
               "nlm": NlmActor(cli, NLM_HOLDER_SVID), "smb": SmbActor(connect)}
    contenders = {"fcntl": FcntlActor(path), "flock": FlockActor(path),
                  "nlm": NlmActor(cli, NLM_CONTENDER_SVID), "smb": SmbActor(connect)}

    def probe():  # an NLM TEST of the whole file conflicts with every flavour
        return cli.cmd("test %d 0 0 x" % NLM_PROBE_SVID)

    results = {}
    try:
        for op in OPS:
            for h in KINDS:
                for c in KINDS:
                    results[(op, h, c)] = run_cell(op, holders[h], contenders[c], probe)
    finally:
        print_matrix(results)
        for actor in list(holders.values()) + list(contenders.values()):
            if isinstance(actor, FcntlActor):
                actor.h.close()
            elif isinstance(actor, SmbActor):
                actor.smb.logoff()


# --- Section 8: SMB READ/WRITE honour NLM and flock locks (mandatory).
def section_smb_io(smb, cli, path):
    original = bytes(range(10, 20))
    r = cli.cmd("lock 2001 0 100 x")
    check(r == "granted", "8: NLM LOCK exclusive [0,100)", r)
    st, _ = smb.read(10, 10)
    check(st == FILE_LOCK_CONFLICT,
          "8: SMB READ [10,20) under the NLM lock -> STATUS_FILE_LOCK_CONFLICT",
          status_name(st))
    st = smb.write(10, b"y" * 10)
    check(st == FILE_LOCK_CONFLICT,
          "8: SMB WRITE [10,20) under the NLM lock -> STATUS_FILE_LOCK_CONFLICT",
          status_name(st))
    st, data = smb.read(200, 10)
    check(st == STATUS_SUCCESS and data == bytes(range(200, 210)),
          "8: SMB READ [200,210) outside the NLM lock -> OK, right bytes",
          "%s %r" % (status_name(st), data))
    r = cli.cmd("unlock 2001 0 0")
    check(r == "granted", "8: NLM UNLOCK", r)

    r = cli.cmd("lock 2001 0 100 s")
    check(r == "granted", "8: NLM LOCK shared [0,100)", r)
    st, data = smb.read(10, 10)
    check(st == STATUS_SUCCESS and data == original,
          "8: SMB READ [10,20) under another owner's shared NLM lock -> OK",
          "%s %r" % (status_name(st), data))
    st = smb.write(10, b"y" * 10)
    check(st == FILE_LOCK_CONFLICT,
          "8: SMB WRITE [10,20) under the shared NLM lock -> STATUS_FILE_LOCK_CONFLICT",
          status_name(st))
    r = cli.cmd("unlock 2001 0 0")
    check(r == "granted", "8: NLM UNLOCK", r)

    h = Holder(path)
    try:
        r = h.cmd("flock exnb")
        check(r.startswith("ok"), "8: local flock LOCK_EX", r)
        st, _ = smb.read(10, 10)
        check(st == FILE_LOCK_CONFLICT,
              "8: SMB READ [10,20) under the local flock -> STATUS_FILE_LOCK_CONFLICT",
              status_name(st))
        st = smb.write(10, b"y" * 10)
        check(st == FILE_LOCK_CONFLICT,
              "8: SMB WRITE [10,20) under the local flock -> STATUS_FILE_LOCK_CONFLICT",
              status_name(st))
        r = h.cmd("flock un")
        check(r.startswith("ok"), "8: local flock LOCK_UN", r)
    finally:
        h.close()
    st, data = smb.read(10, 10)
    check(st == STATUS_SUCCESS and data == original,
          "8: with no lock left, SMB READ [10,20) -> OK, bytes unchanged",
          "%s %r" % (status_name(st), data))


# --- Section 9: deadlocks between an SMB waiter and a local waiter.
def section_deadlocks(smb, path):
    # a. The SMB open waits for the local process, which then asks for what
    # the SMB open holds: the local F_SETLKW closes the cycle -> EDEADLK.
    h = Holder(path)
    try:
        r = h.cmd("setlk w 0 10")
        check(r.startswith("ok"), "9a: local F_SETLK write [0,10)", r)
        st = smb.lock(100, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
        check(st == STATUS_SUCCESS, "9a: SMB LOCK exclusive [100,110)", status_name(st))
        mid = smb.send_lock(0, 10, EXCLUSIVE)
        first = smb.recv_raw(5)
        pending = first is not None and first["Status"] == STATUS_PENDING
        check(pending, "9a: SMB blocking LOCK [0,10) waits for the local lock (STATUS_PENDING)",
              None if first is None else status_name(first["Status"]))
        h.send("setlkw w 100 10")
        r = h.reply(5)
        check(is_errno(r, "EDEADLK"),
              "9a: local F_SETLKW [100,110), held by the waiting SMB open -> EDEADLK", r)
        if r is None:  # not detected: end the cycle by ending the process
            h.close()
        t0 = time.monotonic()
        if r is not None:
            r = h.cmd("setlk u 0 10")
        if pending:
            final = smb.recv_raw(5)
            dt = time.monotonic() - t0
            got = None if final is None else status_name(final["Status"])
            check(final is not None and final["Status"] == STATUS_SUCCESS
                  and final["MessageID"] == mid and dt < GRANT_S,
                  "9a: the SMB waiter is granted [0,10) %.3f s after the local unlock" % dt, got)
        smb.lock(0, 10, UNLOCK)
        smb.lock(100, 10, UNLOCK)
    finally:
        h.close()

    # b. The local process waits for the SMB open, which then asks for what
    # the local process holds: the SMB LOCK closes the cycle -> refused with
    # STATUS_LOCK_NOT_GRANTED (DESIGN.md), and the local waiter stays.
    h = Holder(path)
    try:
        st = smb.lock(100, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
        check(st == STATUS_SUCCESS, "9b: SMB LOCK exclusive [100,110)", status_name(st))
        r = h.cmd("setlk w 0 10")
        check(r.startswith("ok"), "9b: local F_SETLK write [0,10)", r)
        h.send("setlkw w 100 10")
        r = h.reply(WAIT_S)
        check(r is None, "9b: local F_SETLKW [100,110) waits for the SMB lock", r)
        mid = smb.send_lock(0, 10, EXCLUSIVE)
        final = smb.recv_raw(5)
        interim = ""
        if final is not None and final["Status"] == STATUS_PENDING:
            interim = "STATUS_PENDING, then "
            final = smb.recv_raw(GRANT_S)
        got = None if final is None else interim + status_name(final["Status"])
        check(final is not None and final["Status"] == LOCK_NOT_GRANTED
              and final["MessageID"] == mid,
              "9b: SMB blocking LOCK [0,10), held by the waiting local process"
              " -> STATUS_LOCK_NOT_GRANTED", got)
        if final is None:  # not detected: end the cycle by ending the process
            h.close()
            smb.recv_raw(5)
        elif final["Status"] == STATUS_SUCCESS:
            smb.lock(0, 10, UNLOCK)
        t0 = time.monotonic()
        smb.lock(100, 10, UNLOCK)
        if final is not None:
            r = h.reply(5)
            dt = time.monotonic() - t0
            check(r is not None and r.startswith("ok") and dt < GRANT_S,
                  "9b: the local waiter is granted [100,110) %.3f s after the SMB unlock"
                  % dt, r)
    finally:
        h.close()


# --- Section 10: share modes. A local open counts as an open that shares
# everything, with the access it asked for.
def section_share_modes(smb, mnt):
    spath = os.path.join(mnt, SHARE_FILE_NAME)
    with open(spath, "wb") as f:
        f.write(b"share modes\n")
    deny_write = FILE_SHARE_READ

    def smb_open(share):
        st, fid = smb.try_open(SHARE_FILE_NAME, FILE_READ_DATA, share)
        if fid is not None:
            smb.conn.closeFile(smb.tid, fid)
        return st

    fd = os.open(spath, os.O_RDONLY)
    try:
        st = smb_open(deny_write)
        check(st == STATUS_SUCCESS,
              "10: SMB open denying write next to a local read-only open -> OK",
              status_name(st))
    finally:
        os.close(fd)
    fd = os.open(spath, os.O_WRONLY)
    try:
        st = smb_open(deny_write)
        check(st == SHARING_VIOLATION,
              "10: SMB open denying write (share read only) while a local process has"
              " it open for writing -> STATUS_SHARING_VIOLATION", status_name(st))
        st = smb_open(FILE_SHARE_READ | FILE_SHARE_WRITE)
        check(st == STATUS_SUCCESS,
              "10: SMB open sharing write next to the local writer -> OK", status_name(st))
    finally:
        os.close(fd)
    # The kernel sends FUSE RELEASE after close() returns: allow it a moment.
    deadline = time.monotonic() + 3
    while True:
        st = smb_open(deny_write)
        if st != SHARING_VIOLATION or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    check(st == STATUS_SUCCESS,
          "10: after the local writer closed, the SMB open denying write -> OK",
          status_name(st))


def run(daemon, tool):
    path = os.path.join(daemon.mnt, FILE_NAME)
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 16)  # 4096 bytes
    run_smb_local(daemon, path)
    cli = NlmCli(tool, daemon.nfs_port, os.path.join(daemon.tmp, "nlm_lockcli.log"))
    smb = Smb(daemon.port)
    try:
        section_matrix(daemon, path, cli)
        section_smb_io(smb, cli, path)
        section_deadlocks(smb, path)
        section_share_modes(smb, daemon.mnt)
    finally:
        smb.logoff()
        cli.close()


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
