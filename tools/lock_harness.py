#!/usr/bin/env python3
"""lock_harness: the cross-protocol lock-interop matrix, run with real
clients against a file server that serves one directory over a local mount,
NFSv3 + NLM and SMB2 -- concordfs (default: the local daemon), or e.g. Samba
and NFS-Ganesha sharing one directory.

Clients: local fcntl/flock in child processes (one lock owner each) on
--mount, the directory where local locks act on the files the servers serve
(concordfs: its FUSE mount; Samba + Ganesha: the shared directory itself);
NLM v4 through libnfs (nlm_lockcli, which also plays the client's NLM
service to receive GRANTED callbacks, registered with the portmapper at
127.0.0.1:111, where a server looks a client's callback port up); SMB2
through impacket (python3-impacket).

Sections (each a list of cells: expected, observed, ok or DEVIATION):
  matrix      holder {fcntl, flock, nlm, smb} x contender {the same four} x
              {test, nb-lock, blocking}: the holder locks [0,100) (flock: the
              whole file) exclusively, the contender asks for [10,20)
  smb-io      SMB READ/WRITE [10,20) under another protocol's lock
  deadlock    an SMB waiter and a local F_SETLKW waiter closing a cycle,
              from either side; the survivor is granted afterwards
  share-mode  SMB opens denying write next to local readers and writers

Expected outcomes are concordfs's cross-protocol semantics (DESIGN.md "The
lock model"): local fcntl and flock do not conflict with each other but
both conflict with remote (NLM, SMB) locks; every other pair of owners
conflicts, same protocol included; SMB READ/WRITE are refused with
STATUS_FILE_LOCK_CONFLICT under any other owner's lock (READ not under a
shared one); deadlocks across protocols are detected (EDEADLK locally,
STATUS_LOCK_NOT_GRANTED for SMB); an SMB open that denies write fails with
STATUS_SHARING_VIOLATION while a local process has the file open for
writing.

Exit status: 0 every cell as expected, 1 any deviation (a hung cell
included), 2 setup error (bad options, cannot connect, no mount). Every
wait has a timeout; a cell whose client never answers is "hung".
"""
import argparse
import fcntl as fcntl_mod
import json
import os
import select
import socket
import subprocess
import sys
import time

# impacket is a Debian package (python3-impacket): when the python3 found
# first on PATH is another interpreter, run under the system one.
try:
    import impacket  # noqa: F401
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("lock_harness: impacket not installed (apt-get install python3-impacket)",
          file=sys.stderr)
    sys.exit(2)

from impacket import nt_errors  # noqa: E402
from impacket.nmb import NetBIOSTimeout  # noqa: E402
from impacket.smb3 import SessionError  # noqa: E402
from impacket.smb3structs import (  # noqa: E402
    FILE_OPEN, FILE_READ_DATA, FILE_SHARE_READ, FILE_SHARE_WRITE,
    FILE_WRITE_DATA,
    SMB2_DIALECT_21, SMB2_FLAGS_ASYNC_COMMAND, SMB2_LOCK, SMB2Lock,
    SMB2_LOCK_ELEMENT, SMB2Packet)
from impacket.smbconnection import SMBConnection  # noqa: E402
from impacket.smbconnection import SessionError as ConnectionSessionError  # noqa: E402

SHARED, EXCLUSIVE, UNLOCK, FAIL_IMMEDIATELY = 0x1, 0x2, 0x4, 0x10
STATUS_SUCCESS = nt_errors.STATUS_SUCCESS
STATUS_PENDING = nt_errors.STATUS_PENDING
LOCK_NOT_GRANTED = nt_errors.STATUS_LOCK_NOT_GRANTED      # 0xC0000055
FILE_LOCK_CONFLICT = nt_errors.STATUS_FILE_LOCK_CONFLICT  # 0xC0000054
SHARING_VIOLATION = nt_errors.STATUS_SHARING_VIOLATION    # 0xC0000043
FILE_NAME = "lockfile"
PMAP_PORT = 111  # where a server asks for a client's NLM port


class SetupError(Exception):
    """The target cannot be tested at all (exit status 2)."""


def status_name(code):
    return nt_errors.ERROR_MESSAGES.get(code, ("0x%08X" % code,))[0]


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
def lock_packet(smb3, tid, fid, offset, length, flags):
    """An SMB2 LOCK of one range on impacket's SMB3 connection `smb3`."""
    packet = smb3.SMB_PACKET()
    packet["Command"] = SMB2_LOCK
    packet["TreeID"] = tid
    req = SMB2Lock()
    req["FileID"] = fid
    req["LockCount"] = 1
    el = SMB2_LOCK_ELEMENT()
    el["Offset"] = offset
    el["Length"] = length
    el["Flags"] = flags
    req["Locks"] = el.getData()
    packet["Data"] = req
    return packet


class Smb:
    """One SMB connection and session (so its opens are lock owners of
    their own) with `name` open for reading and writing, sharing both."""

    def __init__(self, host, port, user, password, share, name=FILE_NAME,
                 timeout=30):
        self.conn = SMBConnection(host, host, sess_port=port,
                                  preferredDialect=SMB2_DIALECT_21, timeout=timeout)
        self.conn.login(user, password)
        self.s = self.conn.getSMBServer()
        self.tid = self.conn.connectTree(share)
        self.fid = self.conn.openFile(self.tid, name,
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
        return self.s.sendSMB(lock_packet(self.s, self.tid, self.fid, offset,
                                          length, flags))

    def recv_raw(self, timeout):
        """One response as sent (interim STATUS_PENDING included), or None."""
        try:
            data = self.s._NetBIOSSession.recv_packet(timeout)
        except (NetBIOSTimeout, socket.timeout):
            return None
        return SMB2Packet(data.get_trailer())

    def lock(self, offset, length, flags, timeout=10):
        """NT status of a LOCK request that must answer at once (a final
        answer within `timeout` s; STATUS_PENDING is waited through)."""
        mid = self.send_lock(offset, length, flags)
        deadline = time.monotonic() + timeout
        while True:
            ans = self.recv_raw(max(0.01, deadline - time.monotonic()))
            if ans is None:
                raise RuntimeError("SMB LOCK [%d,+%d) flags 0x%x: no answer within %s s"
                                   % (offset, length, flags, timeout))
            if ans["MessageID"] == mid and ans["Status"] != STATUS_PENDING:
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


# --- NLM: nlm_lockcli, one process for every NLM owner (svid) of the run.
class NlmCli:
    def __init__(self, tool, nfs_port, log, extra_args=(), name=FILE_NAME):
        self.log = log
        with open(log, "a") as logf:
            self.p = subprocess.Popen([tool] + list(extra_args)
                                      + [str(nfs_port), str(PMAP_PORT), name],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=logf, text=True, bufsize=1)
        self.out = LineReader(self.p.stdout.fileno())
        self.callbacks = []  # "callback granted ..." lines not yet claimed
        r = self.reply(30)
        if r is None or not r.startswith("ready"):
            self.close()
            raise RuntimeError("nlm_lockcli did not start: %r (stderr in %s)" % (r, log))

    def reply(self, timeout):
        """The next answer line (callback lines are set aside), or None."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.out.line(max(0, deadline - time.monotonic()))
            if line is None or not line.startswith("callback "):
                return line
            self.callbacks.append(line)

    def cmd(self, cmd, timeout=25):
        try:
            self.p.stdin.write(cmd + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise RuntimeError("nlm_lockcli has exited (stderr in %s)" % self.log)
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
            try:
                self.p.stdin.close()  # nlm_lockcli restores the portmapper
            except OSError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p.stdout.close()


# Names errno.errorcode may give for the same number on Linux.
ERRNO_ALIASES = {"EDEADLK": "EDEADLOCK", "EDEADLOCK": "EDEADLK",
                 "EAGAIN": "EWOULDBLOCK", "EWOULDBLOCK": "EAGAIN"}


def is_errno(reply, *names):
    names = set(names) | {ERRNO_ALIASES[n] for n in names if n in ERRNO_ALIASES}
    return reply is not None and reply.split()[0] == "err" and reply.split()[1] in names


# --- The matrix. Every actor is a lock owner of its own; the
# holder takes an exclusive lock on [0,100) (flock: the whole file), the
# contender asks for an exclusive lock on [10,20) (flock: the whole file).
KINDS = ("fcntl", "flock", "nlm", "smb")
OPS = ("test", "nb-lock", "blocking")
HOLD = (0, 100)   # offset, length
WANT = (10, 10)
WAIT_S = 0.3      # a blocked request must still be waiting after this
GRANT_S = 2.0     # and be granted this soon after the holder's unlock
NLM_HOLDER_SVID, NLM_CONTENDER_SVID, NLM_PROBE_SVID = 1001, 1002, 1999
NLM_IO_SVID = 2001


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

    def close(self):
        self.h.close()

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

    def close(self):
        pass

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

    def close(self):
        self.smb.logoff()

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


# --- The run: cells, sections, report.
SECTIONS = ("matrix", "smb-io", "deadlock", "share-mode")
NEEDS = {"fcntl": "local", "flock": "local", "nlm": "nfs", "smb": "smb"}


class Harness:
    def __init__(self, opt):
        self.opt = opt
        self.cells = []
        self.path = os.path.join(opt.mount, opt.file)
        self.share_name = opt.file + ".share"
        self.cli = None
        self.nlm_log = opt.nlm_log or os.path.join(
            "/tmp", "lock_harness-nlm_lockcli-%d.log" % os.getpid())

    # -- clients
    def smb(self, name=None):
        o = self.opt
        return Smb(o.smb_host, o.smb_port, o.smb_user, o.smb_password, o.share,
                   name or o.file)

    def start_nlm(self):
        o = self.opt
        args = ["--host", o.nfs_host, "--mount-port", str(o.mount_port),
                "--nlm-port", str(o.nlm_port), "--export", o.export,
                "--caller", o.caller]
        if o.takeover:
            args.append("--takeover")
        self.cli = NlmCli(o.nlm_lockcli, o.nfs_port, self.nlm_log, args, o.file)

    def restart_nlm(self):
        if self.cli is not None:
            self.cli.close()
        self.start_nlm()

    def skipped(self, *kinds):
        return [k for k in kinds if (NEEDS[k] == "nfs" and self.opt.skip_nfs)
                or (NEEDS[k] == "smb" and self.opt.skip_smb)]

    # -- cells
    def add(self, section, cell_id, expected, observed, detail="", **extra):
        if observed == "skipped":
            result = "skipped"
        elif expected == "n/a":
            result = "n/a"
        else:
            result = "ok" if observed == expected else "DEVIATION"
        cell = dict(section=section, id=cell_id, expected=expected,
                    observed=observed, result=result, detail=detail, **extra)
        self.cells.append(cell)
        print("%-9s %-44s expected %-20s observed %-20s %s" % (
            result, cell_id, expected, observed, detail))
        sys.stdout.flush()
        return cell

    def setup(self):
        o = self.opt
        if not os.path.isdir(o.mount):
            raise SetupError("--mount %s is not a directory" % o.mount)
        try:
            with open(self.path, "wb") as f:
                f.write(bytes(range(256)) * 16)  # 4096 bytes
            with open(os.path.join(o.mount, self.share_name), "wb") as f:
                f.write(b"share modes\n")
        except OSError as e:
            raise SetupError("cannot create the test files in %s: %s" % (o.mount, e))
        if not o.skip_smb:
            try:
                self.smb().logoff()
            except Exception as e:
                raise SetupError("SMB: cannot open %s on //%s:%d/%s as %s: %s: %s" % (
                    o.file, o.smb_host, o.smb_port, o.share, o.smb_user,
                    type(e).__name__, e))
        if not o.skip_nfs:
            if not os.access(o.nlm_lockcli, os.X_OK):
                raise SetupError("nlm_lockcli not found at %s (--nlm-lockcli; build it:"
                                 " ninja -C BUILD nlm_lockcli)" % o.nlm_lockcli)
            try:
                self.start_nlm()
            except RuntimeError as e:
                tail = ""
                try:
                    with open(self.nlm_log, errors="replace") as f:
                        tail = " ".join(f.read().split("\n")[-3:])
                except OSError:
                    pass
                raise SetupError("NLM: %s %s" % (e, tail))

    def run(self):
        self.setup()
        try:
            for section in SECTIONS:
                if section in self.opt.sections:
                    getattr(self, "section_" + section.replace("-", "_"))()
        finally:
            if self.cli is not None:
                self.cli.close()

    # -- the matrix
    def probe(self):
        """'granted' when no lock is left on the file as far as a whole-file
        test sees (NLM TEST, else a local F_SETLK)."""
        if not self.opt.skip_nfs:
            return self.cli.cmd("test %d 0 0 x" % NLM_PROBE_SVID)
        h = Holder(self.path)
        try:
            r = h.cmd("setlk w 0 0")
            return "granted" if r.startswith("ok") else r
        finally:
            h.close()

    def section_matrix(self):
        o = self.opt
        kinds = [k for k in KINDS if k in o.kinds]
        actors = {}

        def make(kind, svid):
            if kind == "fcntl":
                return FcntlActor(self.path)
            if kind == "flock":
                return FlockActor(self.path)
            if kind == "nlm":
                return NlmActor(self.cli, svid)
            return SmbActor(self.smb)

        live = [k for k in kinds if not self.skipped(k)]
        for k in live:
            actors[("h", k)] = make(k, NLM_HOLDER_SVID)
            actors[("c", k)] = make(k, NLM_CONTENDER_SVID)
        try:
            for op in OPS:
                for h in kinds:
                    for c in kinds:
                        cell_id = "%s %s/%s" % (op, h, c)
                        skipped = self.skipped(h, c)
                        if skipped:
                            self.add("matrix", cell_id, expected_for(op, h, c), "skipped",
                                     "%s not tested (--skip)" % skipped[0],
                                     op=op, holder=h, contender=c)
                            continue
                        self.matrix_cell(op, actors[("h", h)], actors[("c", c)])
        finally:
            for a in actors.values():
                a.close()

    def matrix_cell(self, op, holder, contender):
        H, C = holder.kind, contender.kind
        cell_id = "%s %s/%s" % (op, H, C)
        try:
            expected, observed, detail = run_cell(op, holder, contender,
                                                  self.opt.wait_timeout)
        except Exception as e:  # a client that did not answer
            expected, observed = expected_for(op, H, C), "hung"
            detail = "%s: %s" % (type(e).__name__, e)
            self.recover(holder, contender)
        cell = self.add("matrix", cell_id, expected, observed, detail,
                        op=op, holder=H, contender=C)
        try:
            left = self.probe()
        except Exception as e:
            left = "%s: %s" % (type(e).__name__, e)
        if left != "granted":
            cell["left"] = left
            cell["detail"] += "; a lock was left on the file (%s)" % left
            if cell["result"] == "ok":
                cell["result"] = "DEVIATION"
                print("DEVIATION %s: a lock was left on the file afterwards (%s)"
                      % (cell_id, left))
            self.recover(holder, contender)

    def recover(self, *actors):
        """Ends whatever a failed cell left: a hung nlm_lockcli is restarted,
        local holders and SMB sessions are replaced."""
        try:
            if self.cli is not None:
                self.cli.cmd("test %d 0 0 x" % NLM_PROBE_SVID, timeout=5)
        except Exception:
            self.restart_nlm()
        for a in actors:
            if isinstance(a, NlmActor):
                a.cli = self.cli
            try:
                a.reset()
            except Exception as e:
                print("note: resetting the %s actor: %s" % (a.kind, e))

    # -- SMB READ/WRITE under another protocol's lock
    def section_smb_io(self):
        holders = (("fcntl", "F_SETLK write [0,100)"), ("flock", "flock LOCK_EX"),
                   ("nlm-x", "NLM exclusive [0,100)"), ("nlm-s", "NLM shared [0,100)"))
        smb = None
        if not self.opt.skip_smb:
            try:
                smb = self.smb()
            except Exception as e:
                smb = e
        try:
            for hk, what in holders:
                kind = hk.split("-")[0]
                skipped = self.skipped(kind, "smb")
                for io in ("read", "write"):
                    expected = "SUCCESS" if (hk, io) == ("nlm-s", "read") \
                        else "FILE_LOCK_CONFLICT"
                    cell_id = "SMB %s [10,20) under %s" % (io.upper(), what)
                    if skipped:
                        self.add("smb-io", cell_id, expected, "skipped", "", holder=hk, io=io)
                        continue
                    if isinstance(smb, Exception):
                        self.add("smb-io", cell_id, expected, "hung",
                                 "SMB connect: %s" % smb, holder=hk, io=io)
                        continue
                    try:
                        observed, detail = self.smb_io_cell(smb, hk, io)
                    except Exception as e:
                        observed, detail = "hung", "%s: %s" % (type(e).__name__, e)
                        smb.logoff()
                        smb = self.smb()
                        self.recover()
                    self.add("smb-io", cell_id, expected, observed, detail, holder=hk, io=io)
        finally:
            if smb is not None and not isinstance(smb, Exception):
                smb.logoff()

    def smb_io_cell(self, smb, hk, io):
        h = None
        if hk in ("fcntl", "flock"):
            h = Holder(self.path)
            r = h.cmd("setlk w 0 100" if hk == "fcntl" else "flock exnb")
            ok = r.startswith("ok")
        else:
            r = self.cli.cmd("lock %d 0 100 %s" % (NLM_IO_SVID, hk[-1]))
            ok = r == "granted"
        try:
            if not ok:
                return "no-holder", "the holder's lock: %s" % r
            if io == "read":
                st, _ = smb.read(10, 10)
            else:
                st = smb.write(10, bytes(range(10, 20)))  # the bytes it had
            name = "SUCCESS" if st == STATUS_SUCCESS else status_name(st).replace("STATUS_", "")
            return name, status_name(st)
        finally:
            if h is not None:
                if hk == "flock":  # FUSE drops a flock on RELEASE, after close()
                    h.cmd("flock un")
                h.close()
            else:
                self.cli.cmd("unlock %d 0 0" % NLM_IO_SVID)

    # -- deadlocks between an SMB waiter and a local waiter
    def section_deadlock(self):
        cells = (("SMB waits, then local F_SETLKW closes the cycle", "EDEADLK",
                  "local waiter granted after the SMB unlock", self.deadlock_smb_first),
                 ("local waits, then SMB LOCK closes the cycle", "LOCK_NOT_GRANTED",
                  "SMB waiter granted after the local unlock", self.deadlock_local_first))
        for name, exp, name2, fn in cells:
            if self.opt.skip_smb:
                self.add("deadlock", name, exp, "skipped")
                self.add("deadlock", name2, "granted", "skipped")
                continue
            h, smb = None, None
            try:
                h = Holder(self.path)
                smb = self.smb()
                res = fn(h, smb)
            except Exception as e:
                res = [("hung", "%s: %s" % (type(e).__name__, e))]
            finally:
                if h is not None:
                    h.close()
                if smb is not None:
                    smb.logoff()
            res += [("not-reached", "")] * (2 - len(res))
            self.add("deadlock", name, exp, res[0][0], res[0][1])
            self.add("deadlock", name2, "granted", res[1][0], res[1][1])

    def deadlock_smb_first(self, h, smb):
        """Local holds [0,10), SMB [100,110); SMB waits for [0,10); the local
        F_SETLKW for [100,110) closes the cycle."""
        r = h.cmd("setlk w 0 10")
        st = smb.lock(100, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
        if not r.startswith("ok") or st != STATUS_SUCCESS:
            return [("no-holders", "local %s, SMB %s" % (r, status_name(st)))]
        mid = smb.send_lock(0, 10, EXCLUSIVE)
        first = smb.recv_raw(5)
        if first is None or first["Status"] != STATUS_PENDING:
            return [("smb-not-waiting", "SMB LOCK [0,10): %s" % (
                "no answer" if first is None else status_name(first["Status"])))]
        h.send("setlkw w 100 10")
        r = h.reply(self.opt.wait_timeout)
        if r is None:
            return [("waits", "local F_SETLKW [100,110) still waits after %s s"
                     % self.opt.wait_timeout)]
        victim = "EDEADLK" if is_errno(r, "EDEADLK") else local_outcome(r)
        if victim == "granted":
            return [(victim, "F_SETLKW " + r)]
        t0 = time.monotonic()
        h.cmd("setlk u 0 10")
        final = smb.recv_raw(self.opt.wait_timeout)
        dt = time.monotonic() - t0
        if final is None:
            second = ("hung", "no final SMB answer")
        elif final["Status"] == STATUS_SUCCESS and final["MessageID"] == mid:
            second = ("granted" if dt < GRANT_S else "late", "%.3f s after the unlock" % dt)
        else:
            second = (status_name(final["Status"]), "")
        return [(victim, "F_SETLKW " + r), second]

    def deadlock_local_first(self, h, smb):
        """SMB holds [100,110), local [0,10); the local F_SETLKW waits for
        [100,110); the SMB blocking LOCK [0,10) closes the cycle."""
        st = smb.lock(100, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
        r = h.cmd("setlk w 0 10")
        if not r.startswith("ok") or st != STATUS_SUCCESS:
            return [("no-holders", "local %s, SMB %s" % (r, status_name(st)))]
        h.send("setlkw w 100 10")
        r = h.reply(WAIT_S)
        if r is not None:
            return [("local-not-waiting", "F_SETLKW [100,110): " + r)]
        mid = smb.send_lock(0, 10, EXCLUSIVE)
        final = smb.recv_raw(5)
        interim = ""
        if final is not None and final["Status"] == STATUS_PENDING:
            interim = "STATUS_PENDING, then "
            final = smb.recv_raw(self.opt.wait_timeout)
        if final is None:
            return [("waits", "SMB LOCK [0,10): %sno answer within %s s"
                     % (interim, self.opt.wait_timeout))]
        victim = status_name(final["Status"]).replace("STATUS_", "")
        if final["Status"] == STATUS_SUCCESS:
            return [(victim, interim + status_name(final["Status"]))]
        t0 = time.monotonic()
        smb.lock(100, 10, UNLOCK)
        r2 = h.reply(self.opt.wait_timeout)
        dt = time.monotonic() - t0
        if r2 is None:
            second = ("hung", "local F_SETLKW: no answer")
        elif r2.startswith("ok"):
            second = ("granted" if dt < GRANT_S else "late", "%.3f s after the unlock" % dt)
        else:
            second = (local_outcome(r2), r2)
        return [(victim, interim + status_name(final["Status"])), second]

    # -- share modes: a local open counts as an open sharing everything
    def section_share_mode(self):
        spath = os.path.join(self.opt.mount, self.share_name)
        deny_write = FILE_SHARE_READ
        cells = (("SMB open denying write, local reader open", os.O_RDONLY,
                  deny_write, "SUCCESS"),
                 ("SMB open denying write, local writer open", os.O_WRONLY,
                  deny_write, "SHARING_VIOLATION"),
                 ("SMB open sharing write, local writer open", os.O_WRONLY,
                  FILE_SHARE_READ | FILE_SHARE_WRITE, "SUCCESS"),
                 ("SMB open denying write after the local writer closed", None,
                  deny_write, "SUCCESS"))
        if self.opt.skip_smb:
            for name, _, _, exp in cells:
                self.add("share-mode", name, exp, "skipped")
            return
        smb = None
        try:
            smb = self.smb()

            def smb_open(share):
                st, fid = smb.try_open(self.share_name, FILE_READ_DATA, share)
                if fid is not None:
                    smb.conn.closeFile(smb.tid, fid)
                return "SUCCESS" if st == STATUS_SUCCESS else \
                    status_name(st).replace("STATUS_", "")

            for name, mode, share, exp in cells:
                if mode is None:
                    # The kernel sends FUSE RELEASE after close() returns.
                    deadline = time.monotonic() + 3
                    while True:
                        got = smb_open(share)
                        if got != "SHARING_VIOLATION" or time.monotonic() > deadline:
                            break
                        time.sleep(0.05)
                else:
                    fd = os.open(spath, mode)
                    try:
                        got = smb_open(share)
                    finally:
                        os.close(fd)
                self.add("share-mode", name, exp, got)
        except Exception as e:
            done = {c["id"] for c in self.cells if c["section"] == "share-mode"}
            for name, _, _, exp in cells:
                if name not in done:
                    self.add("share-mode", name, exp, "hung", "%s: %s" % (type(e).__name__, e))
        finally:
            if smb is not None:
                smb.logoff()


def expected_for(op, h, c):
    conflict = expected_conflict(h, c)
    if op == "test":
        if c in ("flock", "smb"):
            return "n/a"
        return "locked" if conflict else "free"
    if op == "nb-lock":
        return "refused" if conflict else "granted"
    return "waited" if conflict else "granted"


def run_cell(op, holder, contender, wait_timeout):
    """Runs one matrix cell; returns (expected, observed, detail)."""
    H, C = holder.kind, contender.kind
    expected = expected_for(op, H, C)
    ok, detail = holder.hold()
    if not ok:
        holder.reset()
        return expected, "no-holder", "the holder's lock: " + detail
    released = False
    if op == "test":
        res = contender.test()
        if res is None:
            holder.release()
            return "n/a", "n/a", "no test operation"
        observed, detail, info = res
        if observed == "locked":
            wrong = reported_holder_error(holder, contender, info)
            if wrong:
                observed, detail = "wrong-holder", detail + " (%s)" % wrong
    elif op == "nb-lock":
        observed, detail = contender.try_lock()
        if observed == "granted":
            contender.unlock()
    else:
        observed, detail = contender.start_wait()
        if observed == "pending":
            t0 = time.monotonic()
            holder.release()
            released = True
            final, more = contender.finish_wait(wait_timeout)
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
    return expected, observed, detail


# --- Report
def print_report(cells, out=sys.stdout):
    w = out.write
    matrix = {(c["op"], c["holder"], c["contender"]): c
              for c in cells if c["section"] == "matrix"}
    if matrix:
        kinds = [k for k in KINDS if any(k == key[1] for key in matrix)]
        w("\nlock matrix: holder rows x contender columns; each cell"
          " expected/observed (! = deviation, - = skipped)\n")
        width = 22
        for op in OPS:
            w("\n  %-9s|%s\n" % (op, "".join(" %-*s" % (width - 1, c) for c in kinds).rstrip()))
            w("  " + "-" * 9 + "+" + "-" * (width * len(kinds)) + "\n")
            for h in kinds:
                row = "  %-9s|" % h
                for c in kinds:
                    cell = matrix.get((op, h, c))
                    row += " %-*s" % (width - 1, cell_text(cell))
                w(row.rstrip() + "\n")
    for section in SECTIONS[1:]:
        rows = [c for c in cells if c["section"] == section]
        if not rows:
            continue
        wid = max(len(c["id"]) for c in rows)
        w("\n%s\n" % section)
        w("  %-*s  %-20s %-20s %s\n" % (wid, "cell", "expected", "observed", "result"))
        for c in rows:
            w("  %-*s  %-20s %-20s %s\n" % (wid, c["id"], c["expected"], c["observed"],
                                            c["result"]))
    out.flush()


def cell_text(cell):
    if cell is None:
        return "-"
    if cell["result"] == "n/a":
        return "n/a"
    if cell["result"] == "skipped":
        return "-"
    mark = "" if cell["result"] == "ok" else " !"
    obs = cell["observed"] + ("+left" if "left" in cell else "")
    return "%s/%s%s" % (cell["expected"], obs, mark)


def write_markdown(path, opt, cells, summary):
    """The report as Markdown: notes, the matrix tables, the other sections,
    and the list of deviations."""
    lines = ["<!-- Generated by tools/lock_harness.py --markdown; do not edit by hand. -->",
             "", "# Lock-interop harness: %s" % (opt.title or "report"), ""]
    for note in opt.note:
        lines += [note, ""]
    lines += ["Expected outcomes are concordfs's cross-protocol lock semantics (README,"
              " \"Lock-interop harness\"). %(cells)d cells: %(ok)d as expected,"
              " %(deviations)d deviations (%(hung)d hung), %(skipped)d skipped,"
              " %(not_applicable)d not applicable." % summary, ""]
    matrix = {(c["op"], c["holder"], c["contender"]): c
              for c in cells if c["section"] == "matrix"}
    if matrix:
        lines += ["## Matrix", "",
                  "Holder (rows) takes an exclusive lock on [0,100) (flock: the whole"
                  " file), the contender (columns) asks for [10,20). Each cell:"
                  " expected / observed; **bold** marks a deviation.", ""]
        for op in OPS:
            lines += ["### %s" % op, "", "| holder \\ contender | " + " | ".join(KINDS) + " |",
                      "|---|" + "---|" * len(KINDS)]
            for h in KINDS:
                row = []
                for c in KINDS:
                    cell = matrix.get((op, h, c))
                    text = cell_text(cell).replace(" !", "")
                    if cell is not None and cell["result"] == "DEVIATION":
                        text = "**%s**" % text
                    row.append(text)
                lines.append("| %s | %s |" % (h, " | ".join(row)))
            lines.append("")
    for section in SECTIONS[1:]:
        rows = [c for c in cells if c["section"] == section]
        if rows:
            lines += ["## %s" % section, "", "| cell | expected | observed | result |",
                      "|---|---|---|---|"]
            lines += ["| %s | %s | %s | %s |" % (c["id"], c["expected"], c["observed"],
                                                 c["result"]) for c in rows]
            lines.append("")
    dev = [c for c in cells if c["result"] == "DEVIATION"]
    lines += ["## Deviations (%d)" % len(dev), ""]
    for c in dev:
        detail = c["detail"].replace("|", "/")
        lines.append("- %s `%s`: expected %s, observed %s%s" % (
            c["section"], c["id"], c["expected"], c["observed"],
            " (%s)" % detail if detail else ""))
    if not dev:
        lines.append("None.")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def host_port(text, default_port, what):
    host, _, port = text.rpartition(":")
    if not host:
        host, port = text, str(default_port)
    try:
        return host, int(port)
    except ValueError:
        raise SetupError("%s: not HOST:PORT: %r" % (what, text))


def default_nlm_lockcli():
    env = os.environ.get("CONCORDFS_NLM_LOCKCLI")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for build in ("build", "build-debug", "build-release"):
        p = os.path.join(root, build, "tests", "integration", "nlm_lockcli")
        if os.access(p, os.X_OK):
            return p
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "nlm_lockcli")
        if os.access(p, os.X_OK):
            return p
    return os.path.join(root, "build", "tests", "integration", "nlm_lockcli")


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="lock_harness",
        description="Cross-protocol lock-interop matrix (local fcntl/flock, NFS/NLM,"
                    " SMB) against a file server; exit 0 all as expected, 1 deviations,"
                    " 2 setup error.")
    p.add_argument("--mount", required=True,
                   help="directory where local fcntl/flock act on the served files"
                        " (concordfs: its FUSE mount; Samba/Ganesha: the shared directory)")
    p.add_argument("--nfs", default="127.0.0.1:2049", help="NFS HOST:PORT (127.0.0.1:2049)")
    p.add_argument("--mount-port", type=int, help="MOUNT port (default: the NFS port)")
    p.add_argument("--nlm-port", type=int, help="NLM port (default: the NFS port)")
    p.add_argument("--export", default="/", help="NFS export path (/)")
    p.add_argument("--caller", default="localhost",
                   help="NLM caller_name; the server finds the client's callback"
                        " service by it (localhost)")
    p.add_argument("--takeover", action="store_true",
                   help="the server's own NLM service is registered at the portmapper on"
                        " 127.0.0.1:111: name nlm_lockcli's callback service there during"
                        " the run instead")
    p.add_argument("--smb", default="127.0.0.1:445", help="SMB HOST:PORT (127.0.0.1:445)")
    p.add_argument("--share", default="share", help="SMB share name (share)")
    p.add_argument("--user", default="alice%Secret-1", help="SMB USER%%PASSWORD")
    p.add_argument("--file", default=FILE_NAME,
                   help="file name in the root of the mount/export/share (%s);"
                        " NAME.share is used too" % FILE_NAME)
    p.add_argument("--json", help="write every cell as JSON to this file")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help="comma-separated subset of " + ",".join(SECTIONS))
    p.add_argument("--kinds", default=",".join(KINDS),
                   help="matrix rows/columns, subset of " + ",".join(KINDS))
    p.add_argument("--skip-nfs", action="store_true", help="the target serves no NFS/NLM")
    p.add_argument("--skip-smb", action="store_true", help="the target serves no SMB")
    p.add_argument("--wait-timeout", type=float, default=5.0,
                   help="seconds a blocked request may take after the holder's unlock"
                        " before the cell is 'hung' (5); granted later than %.0f s is"
                        " 'late'" % GRANT_S)
    p.add_argument("--nlm-lockcli", default=default_nlm_lockcli(),
                   help="the nlm_lockcli binary (default: $CONCORDFS_NLM_LOCKCLI, else"
                        " BUILD/tests/integration/nlm_lockcli next to this source tree,"
                        " else PATH)")
    p.add_argument("--nlm-log", help="nlm_lockcli's stderr (default: a file in /tmp)")
    p.add_argument("--title", default="", help="a line naming the target in the report")
    p.add_argument("--markdown", help="write the report as Markdown to this file")
    p.add_argument("--note", action="append", default=[],
                   help="a paragraph for the top of the Markdown report (repeatable)")
    o = p.parse_args(argv)
    o.mount = os.path.abspath(o.mount)
    o.nfs_host, o.nfs_port = host_port(o.nfs, 2049, "--nfs")
    o.smb_host, o.smb_port = host_port(o.smb, 445, "--smb")
    o.mount_port = o.mount_port or o.nfs_port
    o.nlm_port = o.nlm_port or o.nfs_port
    o.smb_user, _, o.smb_password = o.user.partition("%")
    o.sections = [s for s in o.sections.split(",") if s]
    o.kinds = [k for k in o.kinds.split(",") if k]
    for s in o.sections:
        if s not in SECTIONS:
            raise SetupError("--sections: unknown section %r" % s)
    for k in o.kinds:
        if k not in KINDS:
            raise SetupError("--kinds: unknown kind %r" % k)
    o.nlm_lockcli = os.path.abspath(o.nlm_lockcli)
    return o


def main(argv=None):
    start = time.monotonic()
    try:
        opt = parse_args(sys.argv[1:] if argv is None else argv)
        print("lock_harness: %smount %s, NFS %s:%d (mount %d, NLM %d, export %s)%s,"
              " SMB //%s:%d/%s%s" % (
                  opt.title + ": " if opt.title else "", opt.mount, opt.nfs_host,
                  opt.nfs_port, opt.mount_port, opt.nlm_port, opt.export,
                  " skipped" if opt.skip_nfs else "", opt.smb_host, opt.smb_port,
                  opt.share, " skipped" if opt.skip_smb else ""))
        sys.stdout.flush()
        harness = Harness(opt)
        harness.run()
    except SetupError as e:
        print("lock_harness: setup error: %s" % e, file=sys.stderr)
        return 2
    cells = harness.cells
    print_report(cells)
    deviations = [c for c in cells if c["result"] == "DEVIATION"]
    summary = dict(cells=len(cells), ok=sum(c["result"] == "ok" for c in cells),
                   deviations=len(deviations),
                   hung=sum(c["observed"] == "hung" for c in cells),
                   skipped=sum(c["result"] == "skipped" for c in cells),
                   not_applicable=sum(c["result"] == "n/a" for c in cells),
                   seconds=round(time.monotonic() - start, 1))
    print("\n%(cells)d cells: %(ok)d ok, %(deviations)d deviations (%(hung)d hung),"
          " %(skipped)d skipped, %(not_applicable)d n/a; %(seconds).1f s" % summary)
    if opt.json:
        target = {k: getattr(opt, k) for k in (
            "title", "mount", "nfs_host", "nfs_port", "mount_port", "nlm_port", "export",
            "smb_host", "smb_port", "share", "smb_user", "file", "skip_nfs", "skip_smb",
            "wait_timeout")}
        with open(opt.json, "w") as f:
            json.dump(dict(target=target, summary=summary, cells=cells), f, indent=1)
            f.write("\n")
    if opt.markdown:
        write_markdown(opt.markdown, opt, cells, summary)
    return 1 if deviations else 0


if __name__ == "__main__":
    sys.exit(main())
