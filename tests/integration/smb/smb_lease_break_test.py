#!/usr/bin/env python3
"""SMB leases and oplocks are broken before a conflicting access from the
FUSE mount, and the local access waits for the client's acknowledgement
(or the break timeout); an NFS READ (libnfs) breaks write caching and gets
the flushed data, or NFS3ERR_JUKEBOX while the break is unanswered; a
durable SMB open keeps its lock against local lockers while its client is
disconnected, until it reconnects or the durable timeout passes: real
clients only, impacket's SMB2 client (CREATE
with a lease or oplock, the break notifications and acknowledgements built
from its structures) and the kernel's FUSE client in separate processes.

  smb_lease_break_test.py CONCORDFS_BINARY

Prints one line per check; exits non-zero on any deviation.
"""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import smb_lock_matrix_test as m  # noqa: E402  (daemon, checks, impacket)

from impacket.nmb import NetBIOSTimeout  # noqa: E402
from impacket.smb3structs import (  # noqa: E402
    SMB2_CREATE, SMB2_DIALECT_21, SMB2_OPLOCK_BREAK, SMB2Create,
    SMB2Create_Response, SMB2Packet)
from impacket.smbconnection import SMBConnection  # noqa: E402
from lock_harness import (  # noqa: E402
    EXCLUSIVE, FAIL_IMMEDIATELY, UNLOCK, lock_packet)

BREAK_TIMEOUT_MS = 1500
DURABLE_TIMEOUT_MS = 2000
R, H, W = 0x1, 0x2, 0x4
OPLOCK_II, OPLOCK_BATCH, OPLOCK_LEASE = 0x01, 0x09, 0xFF
ACK_REQUIRED = 0x1
NOTIFICATION_ID = 0xFFFFFFFFFFFFFFFF
check = m.check

# A local process: opens the file through the mount ("r" read-only, "w"
# write-only) and, for "w", writes 4 bytes at offset 0; prints the
# CLOCK_MONOTONIC times before the open and after the open (and write)
# returned.
LOCAL = r'''
import os, sys, time
path, mode = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
fd = os.open(path, os.O_RDONLY if mode == "r" else os.O_WRONLY)
if mode == "w":
    os.pwrite(fd, b"LLLL", 0)
t1 = time.monotonic()
os.close(fd)
print("%.6f %.6f" % (t0, t1), flush=True)
'''


def start_local(path, mode):
    return subprocess.Popen([sys.executable, "-c", LOCAL, path, mode],
                            stdout=subprocess.PIPE, text=True)


def finish_local(p, timeout):
    """(start, end) times of the local access, or None if it is still
    blocked after timeout seconds (then it is killed)."""
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return None
    if p.returncode != 0:
        return None
    t0, t1 = out.split()
    return float(t0), float(t1)


class Client:
    """One SMB 2.1 connection; CREATE with a lease or an oplock, and the
    break notifications that come to it."""

    def __init__(self, port):
        self.conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port,
                                  preferredDialect=SMB2_DIALECT_21, timeout=30)
        self.conn.login("alice", "Secret-1")
        self.s = self.conn.getSMBServer()
        self.tid = self.conn.connectTree("share")

    def create(self, name, oplock, lease_key=None, lease_state=0,
               contexts=(), info=None):
        """(fid, granted oplock level, granted lease state or None).
        contexts: more (name, data) create contexts; info (a dict, if
        given) gets the names of the contexts answered."""
        packet = self.s.SMB_PACKET()
        packet["Command"] = SMB2_CREATE
        packet["TreeID"] = self.tid
        c = SMB2Create()
        c["SecurityFlags"] = 0
        c["RequestedOplockLevel"] = oplock
        c["ImpersonationLevel"] = 2
        c["DesiredAccess"] = 0x0012019F  # read, write, attributes
        c["FileAttributes"] = 0x80
        c["ShareAccess"] = 0x7
        c["CreateDisposition"] = 3  # open if
        c["CreateOptions"] = 0x40  # non-directory
        uname = name.encode("utf-16le")
        c["NameLength"] = len(uname)
        wanted = list(contexts)
        if lease_key is not None:
            # RqLs v1: key, state, flags, duration.
            wanted.append((b"RqLs", lease_key + struct.pack("<IIQ", lease_state, 0, 0)))
        if not wanted:
            c["CreateContextsOffset"] = 0
            c["CreateContextsLength"] = 0
            c["Buffer"] = uname
        else:
            # Each context 8-aligned, chained by its Next offset; the name
            # padded to 8 before them.
            ctx = b""
            for i, (cname, data) in enumerate(wanted):
                one = struct.pack("<IHHHHI", 0, 16, len(cname), 0, 24, len(data)) + \
                    cname + b"\0" * (8 - len(cname)) + data
                if i + 1 < len(wanted):
                    one += b"\0" * ((8 - len(one) % 8) % 8)
                    one = struct.pack("<I", len(one)) + one[4:]
                ctx += one
            pad = b"\0" * ((8 - len(uname) % 8) % 8)
            c["CreateContextsOffset"] = 64 + 56 + len(uname) + len(pad)
            c["CreateContextsLength"] = len(ctx)
            c["Buffer"] = uname + pad + ctx
        packet["Data"] = c
        ans = self.s.recvSMB(self.s.sendSMB(packet))
        if ans["Status"] != 0:
            raise RuntimeError("CREATE %s: %s" % (name, m.status_name(ans["Status"])))
        body = ans["Data"]
        resp = SMB2Create_Response(body)
        level = body[2]
        state = None
        off, length = struct.unpack_from("<II", body, 80)
        if length:
            ctxs = bytes(ans.getData())[off:off + length]
            pos = 0
            while pos < len(ctxs):
                nxt, noff, nlen, _, doff, dlen = struct.unpack_from("<IHHHHI", ctxs, pos)
                if info is not None:
                    info.setdefault("contexts", []).append(
                        ctxs[pos + noff:pos + noff + nlen])
                if ctxs[pos + noff:pos + noff + nlen] == b"RqLs":
                    state = struct.unpack_from("<I", ctxs, pos + doff + 16)[0]
                if not nxt:
                    break
                pos += nxt
        fid = resp["FileID"].getData()
        # Known to impacket's READ/WRITE/CLOSE, as its own CREATE does.
        path = "\\\\127.0.0.1\\share\\" + name
        self.s._Session["OpenTable"][fid] = {"FileID": fid, "TreeConnect": self.tid,
                                             "FileName": path}
        self.s.GlobalFileTable[path] = {}
        return fid, level, state

    def next_break(self, timeout):
        """The next break notification (as a dict), or None within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                data = self.s._NetBIOSSession.recv_packet(left)
            except (NetBIOSTimeout, OSError):
                return None
            p = SMB2Packet(data.get_trailer())
            if p["Command"] != SMB2_OPLOCK_BREAK or p["MessageID"] != NOTIFICATION_ID:
                continue
            body = p["Data"]
            size = struct.unpack_from("<H", body, 0)[0]
            if size == 44:
                _, _, flags = struct.unpack_from("<HHI", body, 0)
                key = body[8:24]
                cur, new = struct.unpack_from("<II", body, 24)
                return {"lease": True, "flags": flags, "key": key,
                        "current": cur, "new": new}
            if size == 24:
                return {"lease": False, "level": body[2], "fid": body[8:24]}

    def lock(self, fid, offset, length, flags):
        """NTSTATUS of an SMB2 LOCK of one range."""
        packet = lock_packet(self.s, self.tid, fid, offset, length, flags)
        return self.s.recvSMB(self.s.sendSMB(packet))["Status"]

    def drop(self):
        """The TCP connection goes away: no CLOSE, no LOGOFF."""
        self.s._NetBIOSSession.close()

    def ack_lease(self, key, state):
        packet = self.s.SMB_PACKET()
        packet["Command"] = SMB2_OPLOCK_BREAK
        packet["TreeID"] = self.tid
        packet["Data"] = struct.pack("<HHI", 36, 0, 0) + key + struct.pack("<IQ", state, 0)
        return self.s.recvSMB(self.s.sendSMB(packet))["Status"]

    def ack_oplock(self, fid, level):
        packet = self.s.SMB_PACKET()
        packet["Command"] = SMB2_OPLOCK_BREAK
        packet["TreeID"] = self.tid
        packet["Data"] = struct.pack("<HBBI", 24, level, 0, 0) + fid
        return self.s.recvSMB(self.s.sendSMB(packet))["Status"]

    def write(self, fid, offset, data):
        self.s.write(self.tid, fid, data, offset, len(data))

    def read(self, fid, offset, length):
        return self.s.read(self.tid, fid, offset, length)

    def close(self, fid):
        self.s.close(self.tid, fid)

    def logoff(self):
        try:
            self.conn.logoff()
            self.conn.close()
        except Exception:
            pass


def lease_vs_local_writer(c, mnt):
    print("-- an RWH lease, then a local process opens for writing and writes")
    name = "leased.txt"
    key = os.urandom(16)
    fid, level, state = c.create(name, OPLOCK_LEASE, key, R | W | H)
    check(level == OPLOCK_LEASE and state == R | W | H,
          "SMB client alone on the file gets the RWH lease it asked for",
          "level 0x%x state %s" % (level, state))
    local = start_local(os.path.join(mnt, name), "w")
    brk = c.next_break(5)
    check(brk is not None and brk["lease"] and brk["key"] == key,
          "the local open breaks the lease (notification to the SMB client)", brk)
    if brk is None:
        finish_local(local, 10)
        return
    check(brk["current"] == R | W | H and brk["new"] == 0 and brk["flags"] & ACK_REQUIRED,
          "break RWH -> none, acknowledgement required",
          "current 0x%x new 0x%x flags 0x%x" % (brk["current"], brk["new"], brk["flags"]))
    # Dirty data the client cached goes to the server before it acknowledges.
    c.write(fid, 0, b"SSSSSSSS")
    time.sleep(0.5)
    check(local.poll() is None,
          "the local open/write is still waiting 0.5 s later (no acknowledgement yet)")
    t_ack = time.monotonic()
    st = c.ack_lease(key, 0)
    check(st == 0, "the acknowledgement is accepted", m.status_name(st))
    times = finish_local(local, 10)
    check(times is not None and times[1] >= t_ack,
          "the local write returns after the acknowledgement",
          times and "%.3f s before the ack" % (t_ack - times[1]))
    data = c.read(fid, 0, 8)
    check(data == b"LLLLSSSS",
          "the file holds the client's flushed data overwritten by the local write",
          data)
    c.close(fid)


def lease_break_timeout(c, mnt):
    print("-- an RWH lease whose holder never acknowledges")
    name = "silent.txt"
    key = os.urandom(16)
    fid, level, state = c.create(name, OPLOCK_LEASE, key, R | W | H)
    check(state == R | W | H, "RWH lease granted", state)
    local = start_local(os.path.join(mnt, name), "w")
    brk = c.next_break(5)
    check(brk is not None and brk["key"] == key, "the local open breaks the lease", brk)
    times = finish_local(local, 15)
    waited = times and times[1] - times[0]
    check(times is not None and BREAK_TIMEOUT_MS / 1000.0 * 0.9 <= waited < 10,
          "the local write returns when the break times out (%d ms)" % BREAK_TIMEOUT_MS,
          waited)
    st = c.ack_lease(key, 0)
    check(st != 0, "a late acknowledgement is refused (the break is over)",
          m.status_name(st))
    c.close(fid)


def lease_vs_local_reader(c, mnt):
    print("-- an RWH lease, then a local process opens for reading")
    name = "shared.txt"
    key = os.urandom(16)
    fid, level, state = c.create(name, OPLOCK_LEASE, key, R | W | H)
    c.write(fid, 0, b"data")
    local = start_local(os.path.join(mnt, name), "r")
    brk = c.next_break(5)
    check(brk is not None and brk["current"] == R | W | H and brk["new"] == R | H,
          "a local reader breaks only write caching (RWH -> RH)",
          brk and "new 0x%x" % brk["new"])
    if brk is not None:
        check(c.ack_lease(key, R | H) == 0, "acknowledged to RH")
    check(finish_local(local, 10) is not None, "the local read-only open completes")
    # With the local reader gone and the lease at RH, nothing more breaks.
    local = start_local(os.path.join(mnt, name), "r")
    check(finish_local(local, 10) is not None and c.next_break(0.3) is None,
          "another local reader breaks nothing (no write caching left)")
    c.close(fid)


def lease_not_granted_next_to_local_writer(c, mnt):
    print("-- a local writer holds the file open: no read or write caching")
    name = "busy.txt"
    with open(os.path.join(mnt, name), "w") as f:
        f.write("x")
        f.flush()
        fid, level, state = c.create(name, OPLOCK_LEASE, os.urandom(16), R | W | H)
        # The local writer's writes may go straight to the content file
        # (FUSE passthrough), unseen by the server: nothing may be cached.
        check(state is not None and not state & (R | W),
              "a lease asked next to a local writer has neither R nor W",
              state)
        c.close(fid)


def oplock_vs_local_reader(c, mnt):
    print("-- a batch oplock, then a local process opens for reading")
    name = "batch.txt"
    fid, level, _ = c.create(name, OPLOCK_BATCH)
    check(level == OPLOCK_BATCH, "batch oplock granted", "0x%x" % level)
    local = start_local(os.path.join(mnt, name), "r")
    brk = c.next_break(5)
    check(brk is not None and not brk["lease"] and brk["level"] == OPLOCK_II
          and brk["fid"] == fid,
          "the local open breaks the batch oplock to level II", brk)
    time.sleep(0.3)
    check(local.poll() is None, "the local open waits for the acknowledgement")
    if brk is not None:
        check(c.ack_oplock(fid, OPLOCK_II) == 0, "acknowledged to level II")
    check(finish_local(local, 10) is not None, "the local open then completes")
    c.close(fid)


def lease_vs_nfs_reader(c, mnt, nfs_port):
    print("-- an RWH lease with unwritten data, then an NFS READ (libnfs)")
    name = "nfsread.txt"
    key = os.urandom(16)
    fid, level, state = c.create(name, OPLOCK_LEASE, key, R | W | H)
    check(state == R | W | H, "RWH lease granted", state)
    c.write(fid, 0, b"0000000")  # (an empty file would not be read)
    url = "nfs://127.0.0.1//%s?nfsport=%d&mountport=%d&version=3" % (
        name, nfs_port, nfs_port)
    reader = subprocess.Popen(["nfs-cat", url], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    brk = c.next_break(5)
    check(brk is not None and brk["new"] == R | H,
          "the NFS READ breaks write caching (RWH -> RH)", brk)
    # The client flushes what it cached, then acknowledges at once: the
    # READ (which waits up to 100 ms) returns the flushed data.
    c.write(fid, 0, b"flushed")
    if brk is not None:
        check(c.ack_lease(key, R | H) == 0, "acknowledged to RH")
    out, _ = reader.communicate(timeout=30)
    if reader.returncode != 0:
        # The acknowledgement came after the server's 100 ms: the READ got
        # NFS3ERR_JUKEBOX; retry as a kernel client does.
        print("(the READ got NFS3ERR_JUKEBOX; retrying)")
        reader = subprocess.Popen(["nfs-cat", url], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        out, _ = reader.communicate(timeout=30)
    check(reader.returncode == 0 and out == "flushed",
          "the NFS READ returns the data the SMB client flushed",
          repr((reader.returncode, out)))
    c.close(fid)
    print("-- the same without an acknowledgement")
    fid, level, state = c.create(name, OPLOCK_LEASE, key, R | W | H)
    reader = subprocess.Popen(["nfs-cat", url], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    brk = c.next_break(5)
    out, _ = reader.communicate(timeout=30)
    # NFS3ERR_JUKEBOX: kernel clients retry; libnfs's tool reports failure.
    check(brk is not None and reader.returncode != 0,
          "an unacknowledged break answers the NFS READ with NFS3ERR_JUKEBOX "
          "(libnfs reports a failed read) rather than stale data",
          repr((reader.returncode, out)))
    c.close(fid)


# A local process: opens the file read-only through the mount and tries a
# non-blocking F_SETLK read lock on [0, 10); prints "ok" or the errno name.
LOCAL_LOCK = r'''
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 0)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
'''


def local_lock(path):
    return subprocess.run([sys.executable, "-c", LOCAL_LOCK, path],
                          capture_output=True, text=True, timeout=30).stdout.strip()


def durable_open_keeps_its_lock(port, mnt):
    print("-- a durable open (RH lease) with an exclusive lock; its connection drops")
    name = "durable.txt"
    path = os.path.join(mnt, name)
    key = os.urandom(16)
    dhnq = (b"DHnQ", b"\0" * 16)
    # A reconnecting client keeps its ClientGuid (a lease belongs to the
    # client GUID and key); impacket draws it from `random`.
    random.seed(0x5EED)
    c1 = Client(port)
    info = {}
    fid, level, state = c1.create(name, OPLOCK_LEASE, key, R | H, [dhnq], info)
    check(state == R | H and b"DHnQ" in info.get("contexts", []),
          "an RH lease with a durable handle is granted", (state, info))
    c1.write(fid, 0, b"durable!")
    st = c1.lock(fid, 0, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
    check(st == 0, "SMB LOCK exclusive [0,10)", m.status_name(st))
    c1.drop()
    time.sleep(0.3)
    r = local_lock(path)
    check(r in ("EAGAIN", "EACCES"),
          "while the client is gone, a local F_SETLK read [0,10) is refused "
          "(the kept open still holds its lock)", r)
    random.seed(0x5EED)
    c2 = Client(port)
    info = {}
    dhnc = (b"DHnC", fid)
    fid2, level, state = c2.create(name, OPLOCK_LEASE, key, R | H, [dhnc], info)
    check(fid2 == fid and state == R | H,
          "a new connection reconnects the open: same file id, RH lease",
          (fid2 == fid, state))
    check(c2.read(fid2, 0, 8) == b"durable!", "its data is there")
    st = c2.lock(fid2, 0, 10, UNLOCK)
    check(st == 0, "the reconnected open unlocks the lock it took before",
          m.status_name(st))
    r = local_lock(path)
    check(r == "ok", "the local F_SETLK read [0,10) is granted now", r)
    st = c2.lock(fid2, 0, 10, EXCLUSIVE | FAIL_IMMEDIATELY)
    check(st == 0, "SMB LOCK exclusive [0,10) again", m.status_name(st))
    c2.drop()
    time.sleep(0.3)
    t0 = time.monotonic()
    r = local_lock(path)
    check(r in ("EAGAIN", "EACCES"), "dropped again: the local lock is refused", r)
    while r != "ok" and time.monotonic() - t0 < DURABLE_TIMEOUT_MS / 1000.0 + 10:
        time.sleep(0.2)
        r = local_lock(path)
    waited = time.monotonic() - t0
    check(r == "ok" and waited >= DURABLE_TIMEOUT_MS / 1000.0 * 0.7,
          "nobody reconnects: the open and its lock end at the durable "
          "timeout (%d ms)" % DURABLE_TIMEOUT_MS, "%s after %.1f s" % (r, waited))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="cfs-leasebreak-")
    daemon = m.Daemon(binary, tmp,
                      smb_extra="oplock_break_timeout_ms: %d\n"
                                "durable_timeout_ms: %d" % (BREAK_TIMEOUT_MS,
                                                            DURABLE_TIMEOUT_MS))
    start = time.monotonic()
    c = None
    try:
        daemon.start()
        c = Client(daemon.port)
        for scenario in (lease_vs_local_writer, lease_break_timeout,
                         lease_vs_local_reader,
                         lease_not_granted_next_to_local_writer,
                         oplock_vs_local_reader):
            scenario(c, daemon.mnt)
        lease_vs_nfs_reader(c, daemon.mnt, daemon.nfs_port)
        durable_open_keeps_its_lock(daemon.port, daemon.mnt)
    except Exception as e:  # a failed step: report, clean up
        print("FAIL: %s: %s" % (type(e).__name__, e))
        m.failures.append(str(e))
    finally:
        if c is not None:
            c.logoff()
        if m.failures:
            daemon.tail()
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed checks, %.1f s" % (len(m.failures), time.monotonic() - start))
    if m.failures:
        return 1
    print("smb lease break: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
