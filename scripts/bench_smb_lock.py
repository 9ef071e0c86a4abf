#!/usr/bin/env python3
"""SMB2 byte-range lock benchmark client: the same code against any SMB
server (concordfs, Samba).

  pairs    LOCK (exclusive, FAIL_IMMEDIATELY) + UNLOCK of one range on one
           open, one request at a time, for --seconds; with --procs N, N
           processes, each with its own connection and open of the same file
           and its own range, at the same time (aggregate pairs/s).
  wakeup   the time from a local unlock to the final response of a blocked
           SMB LOCK: a local process (its own lock owner) holds an fcntl
           write lock on the file through the server's backing path
           (--local-path: the FUSE mount for concordfs, the shared directory
           for Samba); the client sends a blocking exclusive LOCK on the same
           range and must get an interim STATUS_PENDING; after --hold ms the
           local process reads time.monotonic() and unlocks; the client reads
           time.monotonic() as the final response arrives. Both clocks are
           CLOCK_MONOTONIC of this machine. Each wait is capped (--cap s);
           a wait that hits the cap is cancelled and counted at the cap.

Sessions, trees and opens go through impacket (python3-impacket; its
high-level API has no LOCK); LOCK requests are built once with impacket's
SMB2Packet/SMB2Lock structures and then sent and received on the socket
directly, patching only the message id, so the client spends a few
microseconds per request rather than impacket's per-packet parsing and
polling reads. Dialect 3.0, no signing, no encryption (neither server
requires them).

  bench_smb_lock.py pairs  --port P [--share S] [--user U --password W]
                           [--file NAME] [--seconds 5] [--procs 1]
  bench_smb_lock.py wakeup --port P --local-path PATH [--iterations 200]
                           [--hold 20] [--cap 5] [--budget 60]

Prints one result line, e.g. `pairs 12345.6` or
`wakeup 0.412 0.873 200 0` (median ms, p99 ms, samples, waits that hit the
cap), and exits non-zero on any protocol error.
"""
import argparse
import multiprocessing
import os
import select
import socket
import statistics
import struct
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
    sys.exit("bench_smb_lock: impacket not installed (apt-get install python3-impacket)")

from impacket import nt_errors
from impacket.smb3structs import (
    FILE_READ_DATA, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_WRITE_DATA,
    SMB2_DIALECT_30, SMB2_FLAGS_ASYNC_COMMAND, SMB2_LOCK, SMB2Lock,
    SMB2_LOCK_ELEMENT)
from impacket.smbconnection import SMBConnection

SHARED, EXCLUSIVE, UNLOCK, FAIL_IMMEDIATELY = 0x1, 0x2, 0x4, 0x10
STATUS_SUCCESS = nt_errors.STATUS_SUCCESS
STATUS_PENDING = nt_errors.STATUS_PENDING
STATUS_CANCELLED = nt_errors.STATUS_CANCELLED
LOCK_NOT_GRANTED = nt_errors.STATUS_LOCK_NOT_GRANTED
FILE_LOCK_CONFLICT = nt_errors.STATUS_FILE_LOCK_CONFLICT
SMB2_CANCEL = 0x000C


def status_name(code):
    return nt_errors.ERROR_MESSAGES.get(code, ("0x%08X" % code,))[0]


class BenchError(Exception):
    pass


class Response:
    __slots__ = ("status", "flags", "message_id", "async_id", "raw")

    def __init__(self, raw):
        if len(raw) < 64 or raw[:4] != b"\xfeSMB":
            raise BenchError("not an SMB2 response: %r" % raw[:8])
        self.raw = raw
        self.status, = struct.unpack_from("<I", raw, 8)
        self.flags, = struct.unpack_from("<I", raw, 16)
        self.message_id, = struct.unpack_from("<Q", raw, 24)
        self.async_id, = struct.unpack_from("<Q", raw, 32)


class Client:
    """One connection, one session, one tree, one open of `name`."""

    def __init__(self, port, share, user, password, name):
        self.conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port,
                                  preferredDialect=SMB2_DIALECT_30, timeout=30)
        self.conn.login(user, password)
        self.s = self.conn.getSMBServer()
        if self.s._Session["SigningActivated"] or self.conn.isSigningRequired():
            raise BenchError("the server requires signing: not comparable")
        self.tid = self.conn.connectTree(share)
        self.fid = self.conn.openFile(self.tid, name,
                                      desiredAccess=FILE_READ_DATA | FILE_WRITE_DATA,
                                      shareMode=FILE_SHARE_READ | FILE_SHARE_WRITE)
        self.sock = self.s._NetBIOSSession.get_socket()
        self.sock.setblocking(True)
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.templates = {}

    # Message ids: taken from impacket's counter so that its own requests
    # (close, logoff) stay in sequence after ours.
    def _next_mid(self):
        mid = self.s._Connection["SequenceWindow"]
        self.s._Connection["SequenceWindow"] += 1
        return mid

    def _template(self, offset, length, flags):
        key = (offset, length, flags)
        t = self.templates.get(key)
        if t is None:
            packet = self.s.SMB_PACKET()
            packet["Command"] = SMB2_LOCK
            packet["TreeID"] = self.tid
            packet["SessionID"] = self.s._Session["SessionID"]
            packet["CreditCharge"] = 1
            packet["CreditRequestResponse"] = 16
            req = SMB2Lock()
            req["FileID"] = self.fid
            req["LockCount"] = 1
            el = SMB2_LOCK_ELEMENT()
            el["Offset"] = offset
            el["Length"] = length
            el["Flags"] = flags
            req["Locks"] = el.getData()
            packet["Data"] = req
            data = packet.getData()
            t = bytearray(struct.pack(">I", len(data)) + data)  # NetBIOS length
            self.templates[key] = t
        return t

    def send_lock(self, offset, length, flags):
        t = self._template(offset, length, flags)
        mid = self._next_mid()
        struct.pack_into("<Q", t, 4 + 24, mid)
        self.sock.sendall(t)
        return mid

    def send_cancel(self, async_id):
        hdr = bytearray(64)
        hdr[0:4] = b"\xfeSMB"
        struct.pack_into("<HHIHHIIQQQ", hdr, 4, 64, 0, 0, SMB2_CANCEL, 0,
                         SMB2_FLAGS_ASYNC_COMMAND, 0, 0, async_id,
                         self.s._Session["SessionID"])
        data = bytes(hdr) + struct.pack("<HH", 4, 0)
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def recv(self, timeout=None):
        """The next response (interim STATUS_PENDING included), or None
        if none arrives within timeout seconds (None: wait forever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[1:4], "big")
                if len(self.buf) >= 4 + n:
                    raw = bytes(self.buf[4:4 + n])
                    del self.buf[:4 + n]
                    return Response(raw)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    return None
            chunk = self.sock.recv(65536)
            if not chunk:
                raise BenchError("the server closed the connection")
            self.buf += chunk

    def recv_final(self, mid, timeout):
        """The final response to `mid`, skipping an interim one."""
        while True:
            r = self.recv(timeout)
            if r is None:
                raise BenchError("no response to LOCK within %s s" % timeout)
            if r.message_id == mid and r.status != STATUS_PENDING:
                return r

    def lock(self, offset, length, flags, timeout=10):
        return self.recv_final(self.send_lock(offset, length, flags), timeout).status

    def close(self):
        try:
            self.conn.closeFile(self.tid, self.fid)
            self.conn.logoff()
        except Exception:
            pass
        try:
            self.conn.close()
        except Exception:
            pass


def connect(a):
    return Client(a.port, a.share, a.user, a.password, a.file)


# --- pairs/s
def pair_loop(a, index, start, seconds, out):
    """One process: its own connection, range [index*4096, +4096)."""
    try:
        c = connect(a)
        off, ln = index * 4096, 4096
        lk, ul = EXCLUSIVE | FAIL_IMMEDIATELY, UNLOCK
        for _ in range(50):  # warm up, and check both answers once
            st = c.lock(off, ln, lk)
            if st != STATUS_SUCCESS:
                raise BenchError("LOCK -> %s" % status_name(st))
            st = c.lock(off, ln, ul)
            if st != STATUS_SUCCESS:
                raise BenchError("UNLOCK -> %s" % status_name(st))
        if start is not None:
            start.wait()
        n = 0
        t0 = time.monotonic()
        end = t0 + seconds
        recv = c.recv
        while True:
            c.send_lock(off, ln, lk)
            r = recv(10)
            if r is None or r.status != STATUS_SUCCESS:
                raise BenchError("LOCK -> %s" % (r and status_name(r.status)))
            c.send_lock(off, ln, ul)
            r = recv(10)
            if r is None or r.status != STATUS_SUCCESS:
                raise BenchError("UNLOCK -> %s" % (r and status_name(r.status)))
            n += 1
            if n % 64 == 0 and time.monotonic() >= end:
                break
        rate = n / (time.monotonic() - t0)
        c.close()
        out.put((index, rate, None))
    except Exception as e:  # reported by the parent
        out.put((index, 0.0, "%s: %s" % (type(e).__name__, e)))


def run_pairs(a):
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=pair_loop, args=(a, i, start, a.seconds, out))
             for i in range(a.procs)]
    for p in procs:
        p.start()
    # Each process connects and warms up, then all start together.
    ready_wait = time.monotonic() + 30
    while time.monotonic() < ready_wait and not all(p.is_alive() for p in procs):
        time.sleep(0.01)
    time.sleep(0.5 + 0.1 * a.procs)
    start.set()
    results = [out.get(timeout=a.seconds + 60) for _ in procs]
    for p in procs:
        p.join(10)
    errors = [e for _, _, e in results if e]
    if errors:
        raise BenchError("; ".join(errors))
    print("pairs %.1f" % sum(r for _, r, _ in results), flush=True)


# --- wakeup latency
# The local holder: its own process (its own fcntl lock owner), commands on
# stdin, one answer line each. `unlock` answers the monotonic time read just
# before the F_SETLK(F_UNLCK) call.
HOLDER = r'''
import errno, fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
def flk(t, start, length):
    return struct.pack("hhqqi4x", t, os.SEEK_SET, int(start), int(length), 0)
print("ready", flush=True)
for line in sys.stdin:
    a = line.split()
    try:
        if a[0] == "lock":
            fcntl.fcntl(fd, fcntl.F_SETLK, flk(fcntl.F_WRLCK, a[1], a[2]))
            print("ok", flush=True)
        elif a[0] == "unlock":
            lk = flk(fcntl.F_UNLCK, a[1], a[2])
            t = time.monotonic()
            fcntl.fcntl(fd, fcntl.F_SETLK, lk)
            print("ok %.9f" % t, flush=True)
    except OSError as e:
        print("err %s" % errno.errorcode.get(e.errno, e.errno), flush=True)
'''


class Holder:
    def __init__(self, path):
        self.p = subprocess.Popen([sys.executable, "-c", HOLDER, path],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        if self.reply(10) != "ready":
            raise BenchError("the local lock holder did not start on %s" % path)

    def reply(self, timeout):
        if not select.select([self.p.stdout], [], [], timeout)[0]:
            return None
        return self.p.stdout.readline().strip()

    def cmd(self, line, timeout=10):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        r = self.reply(timeout)
        if r is None or not r.startswith("ok"):
            raise BenchError("local '%s' -> %r" % (line, r))
        return r

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.p.stdin.close()
        self.p.stdout.close()


def percentile(sorted_values, q):
    """Nearest-rank percentile (q in 0..100) of sorted values."""
    k = max(0, min(len(sorted_values) - 1,
                   int(-(-q * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def run_wakeup(a):
    c = connect(a)
    h = Holder(a.local_path)
    off, ln = 0, 10
    try:
        # The local lock must block the server's SMB locks on the same bytes.
        h.cmd("lock %d %d" % (off, ln))
        st = c.lock(off, ln, EXCLUSIVE | FAIL_IMMEDIATELY)
        if st not in (LOCK_NOT_GRANTED, FILE_LOCK_CONFLICT):
            raise BenchError("an SMB LOCK under a local fcntl lock of %s -> %s: "
                             "the server does not see local locks"
                             % (a.local_path, status_name(st)))
        h.cmd("unlock %d %d" % (off, ln))

        samples, capped = [], 0
        budget_end = time.monotonic() + a.budget
        for i in range(a.iterations):
            if i >= 10 and time.monotonic() >= budget_end:
                break
            h.cmd("lock %d %d" % (off, ln))
            mid = c.send_lock(off, ln, EXCLUSIVE)
            r = c.recv(a.cap)
            if r is None or r.message_id != mid or r.status != STATUS_PENDING \
                    or not r.flags & SMB2_FLAGS_ASYNC_COMMAND:
                raise BenchError("blocking LOCK under a local lock: expected an "
                                 "interim STATUS_PENDING, got %s"
                                 % (r and status_name(r.status)))
            async_id = r.async_id
            # Still waiting after the hold time?
            early = c.recv(a.hold / 1000.0)
            if early is not None:
                raise BenchError("blocking LOCK answered %s while the local lock "
                                 "was held" % status_name(early.status))
            line = h.cmd("unlock %d %d" % (off, ln))
            t_unlock = float(line.split()[1])
            r = c.recv(a.cap)
            t_final = time.monotonic()
            if r is None:
                capped += 1
                samples.append(a.cap)
                c.send_cancel(async_id)
                r = c.recv(10)
                if r is None:
                    raise BenchError("no answer to CANCEL of a LOCK within 10 s")
                if r.status == STATUS_SUCCESS:  # granted after all
                    st = c.lock(off, ln, UNLOCK)
                    if st != STATUS_SUCCESS:
                        raise BenchError("UNLOCK -> %s" % status_name(st))
                continue
            if r.message_id != mid or r.status != STATUS_SUCCESS:
                raise BenchError("blocked LOCK final answer: %s"
                                 % status_name(r.status))
            samples.append(t_final - t_unlock)
            st = c.lock(off, ln, UNLOCK)
            if st != STATUS_SUCCESS:
                raise BenchError("UNLOCK after a granted blocked LOCK -> %s"
                                 % status_name(st))
    finally:
        h.close()
        c.close()
    v = sorted(samples)
    if a.samples_out:
        with open(a.samples_out, "w") as f:
            f.write("".join("%.6f\n" % (x * 1e3) for x in samples))
    print("wakeup %.3f %.3f %d %d" % (statistics.median(v) * 1e3,
                                      percentile(v, 99) * 1e3, len(v), capped),
          flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("pairs", "wakeup"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--share", default="share")
    p.add_argument("--user", default="alice")
    p.add_argument("--password", default="Bench-1")
    p.add_argument("--file", default="lockfile",
                   help="file name in the share (must exist)")
    p.add_argument("--seconds", type=float, default=5.0, help="pairs: duration")
    p.add_argument("--procs", type=int, default=1,
                   help="pairs: concurrent processes (connections)")
    p.add_argument("--local-path",
                   help="wakeup: the same file through the server's backing path")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--hold", type=float, default=20.0,
                   help="wakeup: ms the local lock is held after the interim")
    p.add_argument("--cap", type=float, default=5.0,
                   help="wakeup: s one wait may take before it is cancelled")
    p.add_argument("--budget", type=float, default=60.0,
                   help="wakeup: s of waiting, then stop (at least 10 samples)")
    p.add_argument("--samples-out",
                   help="wakeup: write each wait (ms, in order) to this file")
    a = p.parse_args()
    try:
        if a.mode == "pairs":
            run_pairs(a)
        else:
            if not a.local_path:
                p.error("wakeup needs --local-path")
            run_wakeup(a)
    except Exception as e:
        print("bench_smb_lock: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
