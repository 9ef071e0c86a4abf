#!/usr/bin/env python3
"""SIGHUP reloads exports, shares and users without dropping anything, with
real clients. The daemon starts with NFS exports /a and /b and one SMB
share; clients then hold: a local fcntl lock through the FUSE mount, NLM
locks (nlm_lockcli, libnfs) under /a and under /b, an SMB byte-range lock
(impacket) and an open smbclient session. The configuration file is
rewritten (/b removed, /c added, an SMB share and a user added) and the
daemon gets SIGHUP. Then:

  - /c is mountable (nfs-ls, and MNT by a raw MOUNT client), /b is refused
    (MNT3ERR_ACCES, as rpc.mountd refuses a path that is not exported) and
    a file handle obtained under /b before is NFS3ERR_STALE (what Linux
    knfsd answers after `exportfs -u`); /a still works (nfs-cat);
  - every held lock is still held: conflicting local, NLM and SMB requests
    are refused, and `concordctl locks --json` lists the same locks; the
    NLM client of /b may still unlock (its new locks get stale_fh);
  - the smbclient session opened before still lists and transfers files;
    the new share and user work with a new smbclient;
  - the log says what changed; a changed port is logged as needing a
    restart and ignored;
  - a broken file (bad YAML value; an export that does not exist) on SIGHUP
    is refused with a log line and the previous configuration stays in
    force.

  reload_test.py CONCORDFS_BINARY CONCORDCTL NLM_LOCKCLI

The server looks an NLM client's callback port up at the client's port
111, so the script runs itself in a private network + mount namespace
(root needed) with Debian's rpcbind on 127.0.0.1:111; every other port is
picked free; all traffic stays on 127.0.0.1.
"""
import json
import os
import pty
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "smb"))
# The lock-matrix test's helpers (local lock holders, nlm_lockcli, rpcbind,
# the private namespace) and, through it, the harness's SMB client.
import smb_lock_matrix_test as m  # noqa: E402
import daemon_lib  # noqa: E402
import lock_harness  # noqa: E402

NS_ENV = "CFS_RELOAD_TEST_IN_NS"
LOCK_FILE = "lockfile"
failures = []


def check(cond, what, got=""):
    if cond:
        print("ok: %s" % what)
    else:
        print("FAIL: %s%s" % (what, " (got %r)" % (got,) if got != "" else ""))
        failures.append(what)
    sys.stdout.flush()


# --- A minimal ONC RPC client (TCP, AUTH_SYS root) for MOUNT and NFS, to
# see the exact status codes a client gets.
MNT3ERR_ACCES = 13
NFS3ERR_STALE = 70


def _xdr_opaque(b):
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def rpc_call(port, prog, vers, proc, args, timeout=10):
    """The results of one call (after accept_stat SUCCESS), as bytes."""
    xid = int.from_bytes(os.urandom(4), "big")
    cred = struct.pack(">I", 0) + _xdr_opaque(b"reload-test") + struct.pack(">III", 0, 0, 0)
    msg = (struct.pack(">IIIIII", xid, 0, 2, prog, vers, proc)
           + struct.pack(">I", 1) + _xdr_opaque(cred)  # AUTH_SYS
           + struct.pack(">II", 0, 0) + args)          # AUTH_NONE verifier
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(struct.pack(">I", 0x80000000 | len(msg)) + msg)
        reply, last = b"", False
        while not last:
            hdr = _recv_exact(s, 4)
            (mark,) = struct.unpack(">I", hdr)
            last = bool(mark & 0x80000000)
            reply += _recv_exact(s, mark & 0x7FFFFFFF)
    finally:
        s.close()
    rxid, mtype, stat = struct.unpack(">III", reply[:12])
    if rxid != xid or mtype != 1 or stat != 0:
        raise RuntimeError("RPC reply not accepted: %r" % reply[:24])
    _, vlen = struct.unpack(">II", reply[12:20])
    off = 20 + vlen + (4 - vlen % 4) % 4
    (accept,) = struct.unpack(">I", reply[off:off + 4])
    if accept != 0:
        raise RuntimeError("RPC accept_stat %d" % accept)
    return reply[off + 4:]


def _recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise RuntimeError("connection closed")
        out += chunk
    return out


def mount_call(port, path):
    """(mountstat3, file handle or None) of MOUNT v3 MNT."""
    r = rpc_call(port, 100005, 3, 1, _xdr_opaque(path.encode()))
    (st,) = struct.unpack(">I", r[:4])
    if st != 0:
        return st, None
    (n,) = struct.unpack(">I", r[4:8])
    return 0, r[8:8 + n]


def getattr_status(port, fh):
    """nfsstat3 of NFSv3 GETATTR."""
    r = rpc_call(port, 100003, 3, 1, _xdr_opaque(fh))
    return struct.unpack(">I", r[:4])[0]


# --- libnfs's command-line tools.
def nfs_url(port, path):
    return "nfs://127.0.0.1%s?version=3&nfsport=%d&mountport=%d" % (path, port, port)


def nfs_tool(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


# --- smbclient, interactive on a pty: one session for the whole test.
class SmbClientSession:
    PROMPT = b"smb: \\> "

    def __init__(self, port, share, user, cwd):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execvp("smbclient", ["smbclient", "//127.0.0.1/" + share, "-p", str(port),
                                    "-U", user, "-m", "SMB3_11"])
        self.buf = b""
        out = self.until_prompt(30)
        if out is None:
            raise RuntimeError("smbclient did not connect: %r" % self.buf)

    def until_prompt(self, timeout):
        """Output up to the next prompt, or None (exited or timed out)."""
        deadline = time.monotonic() + timeout
        while self.PROMPT not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            import select
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return None
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf.split(self.PROMPT, 1)
        return out.decode(errors="replace")

    def cmd(self, line, timeout=30):
        os.write(self.fd, (line + "\n").encode())
        out = self.until_prompt(timeout)
        if out is None:
            raise RuntimeError("smbclient '%s': no prompt (session gone?): %r"
                               % (line, self.buf[-500:]))
        # The echo of the command line comes first.
        return out.split("\n", 1)[1] if "\n" in out else ""

    def close(self):
        try:
            os.write(self.fd, b"exit\n")
        except OSError:
            pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def smbclient_once(port, share, user, command):
    p = subprocess.run(["smbclient", "//127.0.0.1/" + share, "-p", str(port), "-U", user,
                        "-m", "SMB3_11", "-c", command],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


# --- The daemon and its configuration file.
class Daemon(daemon_lib.DaemonProcess):
    def __init__(self, binary, tmp):
        super().__init__(binary, tmp)
        self.data = os.path.join(tmp, "data")
        self.sock = os.path.join(self.data, "admin.sock")
        self.cfg = os.path.join(tmp, "concordfs.yaml")
        os.makedirs(self.data, exist_ok=True)

    def config_text(self, exports, shares, users, nfs_port=None, extra=""):
        ex = "".join("    - {path: %s, clients: [127.0.0.0/8], squash: none}\n" % p
                     for p in exports)
        sh = "".join("    - {name: %s, path: %s, read_only: %s}\n" % s for s in shares)
        us = "".join('    - {name: %s, password: "%s", uid: 0, gid: 0}\n' % u for u in users)
        return f"""data_dir: {self.data}
log_level: info
log_levels: {{mount: debug}}
locks: {{grace_period: 0}}
mount: {{enabled: true, path: {self.mnt}, allow_other: true}}
nfs:
  enabled: true
  address: 127.0.0.1
  port: {nfs_port or self.nfs_port}
  udp: false
  portmapper: off
  exports:
{ex}smb:
  enabled: true
  address: 127.0.0.1
  port: {self.smb_port}
  users:
{us}  shares:
{sh}{extra}"""

    def write_config(self, text):
        # Replaced in one rename, as an editor or a config manager would.
        tmpname = self.cfg + ".new"
        with open(tmpname, "w") as f:
            f.write(text)
        os.rename(tmpname, self.cfg)

    def start(self, exports, shares, users):
        def write():
            self.nfs_port = daemon_lib.free_port()
            self.smb_port = daemon_lib.free_port()
            self.write_config(self.config_text(exports, shares, users))
            return self.cfg

        def ready():
            return ("running;" in self.log_text()
                    and daemon_lib.port_accepts(self.nfs_port)
                    and daemon_lib.port_accepts(self.smb_port))

        if not self.start_with(write, ready, 20):
            raise RuntimeError("concordfs did not start within 20 s")

    def reload(self, timeout=15):
        """SIGHUP to the daemon's PID; waits for the reload's last log line
        (done or refused). Returns the log written by this reload."""
        before = len(self.log_text())
        os.kill(self.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()[before:]
            if "reload: done" in text or "reload refused" in text:
                return text
            if self.proc.poll() is not None:
                raise RuntimeError("the daemon exited on SIGHUP")
            time.sleep(0.05)
        raise RuntimeError("no reload line in the log within %d s" % timeout)


def ctl_locks(ctl, sock):
    p = subprocess.run([ctl, "--socket", sock, "locks", "--json"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("concordctl locks: exit %d: %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)["locks"]


def ctl_status(ctl, sock):
    p = subprocess.run([ctl, "--socket", sock, "status", "--json"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("concordctl status: exit %d: %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def lock_keys(locks):
    return sorted((e["state"], e["protocol"], e["path"], e["first"], e["last"], e["mode"])
                  for e in locks)


def run(daemon, ctl, tool, tmp):
    port, smb_port = daemon.nfs_port, daemon.smb_port
    mnt = daemon.mnt
    # Contents, made through the mount.
    with open(os.path.join(mnt, "a", "hello.txt"), "w") as f:
        f.write("hello from a\n")
    for d in ("a", "b"):
        with open(os.path.join(mnt, d, LOCK_FILE), "wb") as f:
            f.write(b"x" * 8192)
    with open(os.path.join(mnt, "c", "in-c.txt"), "w") as f:
        f.write("c is here\n")

    # Before: /a and /b are served, /c is not.
    rc, out = nfs_tool("nfs-ls", nfs_url(port, "/a"))
    check(rc == 0 and "hello.txt" in out, "before: nfs-ls /a", out)
    rc, out = nfs_tool("nfs-ls", nfs_url(port, "/b"))
    check(rc == 0 and LOCK_FILE in out, "before: nfs-ls /b", out)
    st, b_root = mount_call(port, "/b")
    check(st == 0 and b_root, "before: MNT /b", st)
    check(getattr_status(port, b_root) == 0, "before: GETATTR of /b's root handle")
    st, _ = mount_call(port, "/c")
    check(st == MNT3ERR_ACCES, "before: MNT /c refused (not exported)", st)
    # log_levels: {mount: debug}: MOUNT's debug lines, named by component.
    check("debug [mount] MNT '/b' from 127.0.0.1" in daemon.log_text(),
          "per-component level: MOUNT's debug lines show [mount]")

    # Locks of every kind, and an SMB session that stays open.
    a_lock = os.path.join(mnt, "a", LOCK_FILE)
    holder = m.Holder(a_lock)
    contender = m.Holder(a_lock)
    nlm_a = m.NlmCli(tool, port, os.path.join(tmp, "nlm_a.log"),
                     extra_args=["--export", "/a"], name=LOCK_FILE)
    # A second NLM client (its own caller name) for /b: it takes the
    # portmapper mapping over from the first one while it runs.
    nlm_b = m.NlmCli(tool, port, os.path.join(tmp, "nlm_b.log"),
                     extra_args=["--export", "/b", "--caller", "nlm-b", "--takeover"],
                     name=LOCK_FILE)
    smb_lock = lock_harness.Smb("127.0.0.1", smb_port, "alice", "Secret-1", "share",
                                name="a\\" + LOCK_FILE)
    smb_other = lock_harness.Smb("127.0.0.1", smb_port, "alice", "Secret-1", "share",
                                 name="a\\" + LOCK_FILE)
    session = SmbClientSession(smb_port, "share", "alice%Secret-1", tmp)
    try:
        r = holder.cmd("setlk w 0 100")
        check(r.startswith("ok"), "local fcntl lock /a/lockfile 0-99", r)
        r = nlm_a.cmd("lock 7 1000 100 x")
        check(r == "granted", "NLM lock under /a: svid 7, 1000-1099", r)
        r = nlm_b.cmd("lock 9 0 100 x")
        check(r == "granted", "NLM lock under /b: svid 9, 0-99", r)
        st = smb_lock.lock(2000, 100, lock_harness.EXCLUSIVE | lock_harness.FAIL_IMMEDIATELY)
        check(st == lock_harness.STATUS_SUCCESS, "SMB lock 2000-2099", hex(st))
        out = session.cmd("ls")
        check("a" in out.split() and "b" in out.split(), "smbclient session: ls", out)
        before = lock_keys(ctl_locks(ctl, daemon.sock))
        check(len(before) == 4, "concordctl lists the 4 held locks", before)

        def conflicts_refused(when):
            r = contender.cmd("setlk w 50 10")
            check(r == "err EAGAIN", "%s: a conflicting local fcntl lock is refused" % when, r)
            r = nlm_a.cmd("test 8 1050 10 x")
            check(r.startswith("denied") and "svid=7" in r,
                  "%s: NLM TEST by another owner sees svid 7's lock" % when, r)
            r = nlm_a.cmd("lock 8 1050 10 x")
            check(r == "denied", "%s: a conflicting NLM lock is refused" % when, r)
            st = smb_other.lock(2050, 10, lock_harness.EXCLUSIVE | lock_harness.FAIL_IMMEDIATELY)
            check(st == lock_harness.LOCK_NOT_GRANTED,
                  "%s: a conflicting SMB lock is refused" % when, lock_harness.status_name(st))
            r = contender.cmd("setlk w 2050 10")
            check(r == "err EAGAIN", "%s: the SMB lock refuses a local one" % when, r)
            got = lock_keys(ctl_locks(ctl, daemon.sock))
            check(got == before, "%s: concordctl lists the same locks" % when, got)

        conflicts_refused("before")

        # --- The reload: /b out, /c in, a share and a user more.
        daemon.write_config(daemon.config_text(
            ["/a", "/c"],
            [("share", "/", "false"), ("docs", "/c", "true")],
            [("alice", "Secret-1"), ("bob", "Bob-pass-2")],
            nfs_port=port + 1 if port < 65535 else port - 1))
        log = daemon.reload()
        check("reload: done" in log, "SIGHUP: reload done", log)
        check("export /b removed" in log and "export /c added" in log,
              "the log names the exports removed and added", log)
        check("smb share 'docs' added" in log and "users: 2 (added bob)" in log,
              "the log names the share and user added", log)
        check("'nfs.port' changed: needs a restart; ignored" in log,
              "a changed port is logged as needing a restart", log)
        check("2 NFS export(s), 2 SMB share(s) and 2 SMB user(s) in force" in log,
              "the log sums up what is in force", log)
        check(daemon.proc.poll() is None, "the daemon is still running")

        # The admin view shows what is in force now.
        st_json = ctl_status(ctl, daemon.sock)
        check(sorted(x["path"] for x in st_json["nfs"]["exports"]) == ["/a", "/c"],
              "after: concordctl status lists the exports in force (/a, /c)",
              st_json["nfs"]["exports"])
        check(sorted(x["name"] for x in st_json["smb"]["shares"]) == ["docs", "share"],
              "after: concordctl status lists the shares in force (docs, share)",
              st_json["smb"]["shares"])

        # NFS after the reload.
        rc, out = nfs_tool("nfs-ls", nfs_url(port, "/c"))
        check(rc == 0 and "in-c.txt" in out, "after: /c mountable (nfs-ls)", out)
        st, c_root = mount_call(port, "/c")
        check(st == 0 and c_root, "after: MNT /c", st)
        st, _ = mount_call(port, "/b")
        check(st == MNT3ERR_ACCES, "after: MNT /b refused with MNT3ERR_ACCES", st)
        rc, out = nfs_tool("nfs-ls", nfs_url(port, "/b"))
        check(rc != 0, "after: nfs-ls /b fails", out)
        check(getattr_status(port, b_root) == NFS3ERR_STALE,
              "after: a handle obtained under /b is NFS3ERR_STALE")
        rc, out = nfs_tool("nfs-cat", nfs_url(port, "/a/hello.txt"))
        check(rc == 0 and out == "hello from a\n", "after: /a still served (nfs-cat)", out)
        rc, out = nfs_tool("nfs-ls", nfs_url(port, "/a"))
        check(rc == 0 and LOCK_FILE in out, "after: nfs-ls /a on the same port", out)

        # Locks after the reload: all still held.
        conflicts_refused("after")
        r = nlm_b.cmd("lock 10 200 10 x")
        check(r == "stale_fh", "after: a new NLM lock under /b gets stale_fh", r)

        # SMB after the reload.
        out = session.cmd("ls")
        check("a" in out.split() and "c" in out.split(),
              "after: the smbclient session opened before still lists", out)
        with open(os.path.join(tmp, "up.txt"), "w") as f:
            f.write("uploaded over the old session\n")
        out = session.cmd("put up.txt a\\up.txt")
        with open(os.path.join(mnt, "a", "up.txt")) as f:
            got = f.read()
        check(got == "uploaded over the old session\n",
              "after: the old smbclient session still writes (put)", out)
        rc, out = smbclient_once(smb_port, "docs", "bob%Bob-pass-2", "ls")
        check(rc == 0 and "in-c.txt" in out, "after: the new user on the new share", out)
        rc, out = smbclient_once(smb_port, "docs", "bob%Bob-pass-2", "put %s x.txt"
                                 % os.path.join(tmp, "up.txt"))
        check(rc != 0 and "NT_STATUS_" in out, "after: the new share is read-only", out)
        rc, out = smbclient_once(smb_port, "share", "bob%wrong", "ls")
        check(rc != 0 and "LOGON_FAILURE" in out.upper(), "a wrong password is still refused", out)

        # --- A broken file is refused; what is in force stays.
        good = daemon.config_text(["/a", "/c"],
                                  [("share", "/", "false"), ("docs", "/c", "true")],
                                  [("alice", "Secret-1"), ("bob", "Bob-pass-2")])
        daemon.write_config(good.replace("udp: false", "udp: sometimes"))
        log = daemon.reload()
        check("reload refused" in log and "bad value 'sometimes' for 'nfs.udp'" in log
              and "the running configuration stays in force" in log,
              "a bad value: the reload is refused, with file, line and reason", log)
        daemon.write_config(daemon.config_text(
            ["/a", "/nope"], [("share", "/", "false")], [("alice", "Secret-1")]))
        log = daemon.reload()
        check("reload refused" in log
              and "export '/nope': no such directory in the store" in log,
              "an export that does not exist: the reload is refused", log)
        check("reload: export" not in log and "reload: done" not in log,
              "nothing of it was applied", log)
        st, _ = mount_call(port, "/c")
        check(st == 0, "after refused reloads: /c still mountable", st)
        st, _ = mount_call(port, "/b")
        check(st == MNT3ERR_ACCES, "after refused reloads: /b still refused", st)
        rc, out = smbclient_once(smb_port, "docs", "bob%Bob-pass-2", "ls")
        check(rc == 0, "after refused reloads: bob and docs still served", out)
        conflicts_refused("after refused reloads")

        # The /b client may still give its lock up.
        r = nlm_b.cmd("unlock 9 0 100")
        check(r == "granted", "the NLM lock under the removed /b can be unlocked", r)
        got = lock_keys(ctl_locks(ctl, daemon.sock))
        check(len(got) == 3 and all(k[2] != "/b/" + LOCK_FILE for k in got),
              "its lock is gone, the others stay", got)
    finally:
        session.close()
        smb_other.logoff()
        smb_lock.logoff()
        nlm_b.close()
        nlm_a.close()
        contender.close()
        holder.close()


def main():
    if len(sys.argv) != 4:
        print("usage: reload_test.py CONCORDFS_BINARY CONCORDCTL NLM_LOCKCLI")
        return 2
    binary, ctl, tool = (os.path.abspath(a) for a in sys.argv[1:4])
    for exe in (binary, ctl, tool):
        if not os.access(exe, os.X_OK):
            print("FAIL: %s is not an executable" % exe)
            return 1
    for t in ("nfs-ls", "nfs-cat", "smbclient"):
        if shutil.which(t) is None:
            print("FAIL: %s not installed" % t)
            return 1
    if os.environ.get(NS_ENV) != "1":
        if os.geteuid() != 0:
            print("FAIL: needs root (a private network namespace with rpcbind)")
            return 1
        env = dict(os.environ, **{NS_ENV: "1"})
        sys.stdout.flush()
        os.execvpe("unshare", ["unshare", "--net", "--mount", sys.executable,
                               os.path.abspath(__file__)] + sys.argv[1:], env)
    start = time.monotonic()
    m.prepare_namespace()
    tmp = tempfile.mkdtemp(prefix="cfs-reload-", dir="/tmp")
    daemon = Daemon(binary, tmp)
    rpcbind = None
    try:
        rpcbind = m.Rpcbind(tmp)
        # First run: the exported directories must exist before a daemon
        # exports them.
        daemon.start(["/"], [("share", "/", "false")], [("alice", "Secret-1")])
        for d in ("a", "b", "c"):
            os.mkdir(os.path.join(daemon.mnt, d))
        daemon.stop()
        daemon.start(["/a", "/b"], [("share", "/", "false")], [("alice", "Secret-1")])
        print("concordfs: NFS/NLM on 127.0.0.1:%d, SMB on 127.0.0.1:%d, mount %s"
              % (daemon.nfs_port, daemon.smb_port, daemon.mnt))
        run(daemon, ctl, tool, tmp)
        print("---- the daemon's reload lines ----")
        print("\n".join(l for l in daemon.log_text().splitlines() if "] reload" in l))
        print("----")
        daemon.proc.send_signal(signal.SIGTERM)
        rc = daemon.proc.wait(15)
        check(rc == 0 and "stopped cleanly" in daemon.log_text(),
              "the daemon stops cleanly after the reloads", rc)
    except Exception as e:
        print("FAIL: %s: %s" % (type(e).__name__, e))
        failures.append(str(e))
    finally:
        if failures:
            daemon.tail(60)
            m.tail_file(os.path.join(tmp, "nlm_a.log"))
            m.tail_file(os.path.join(tmp, "nlm_b.log"))
        daemon.stop()
        if rpcbind is not None:
            rpcbind.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed checks, %.1f s" % (len(failures), time.monotonic() - start))
    if failures:
        return 1
    print("reload: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
