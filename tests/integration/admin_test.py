#!/usr/bin/env python3
"""The admin socket and concordctl with real clients: a local fcntl lock
through the FUSE mount (a child process each, so each is its own lock
owner) and an NLM v4 lock over NFS (nlm_lockcli, libnfs). `concordctl locks
--json` must list exactly those locks and the local waiter queued behind
the NLM lock (protocol, client, range, mode, pid/svid, path); its filters
must select the right rows; `concordctl release --client` of the NFS
client's locks must wake the local F_SETLKW waiting behind them. Also:
status, grace, the socket's mode 0600, a stale socket file replaced at
start, a non-root user refused (by the socket's mode, and by the peer
credential check when the mode is widened), malformed requests answered
with an error while the daemon keeps serving, the socket removed at stop.

  admin_test.py CONCORDFS_BINARY CONCORDCTL NLM_LOCKCLI

The server looks an NLM client's callback port up at the client's port
111, so the script runs itself in a private network + mount namespace
(root needed) with Debian's rpcbind on 127.0.0.1:111; every other port is
picked free; all traffic stays on 127.0.0.1.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "smb"))
# The lock-matrix test's helpers: local lock holders, nlm_lockcli, rpcbind
# and the private namespace.
import smb_lock_matrix_test as m  # noqa: E402
import daemon_lib  # noqa: E402  (imported by the matrix test's module too)

NS_ENV = "CFS_ADMIN_TEST_IN_NS"
FILE_NAME = m.FILE_NAME  # nlm_lockcli locks this name in the export's root
NOBODY = 65534
failures = []


def check(cond, what, got=""):
    if cond:
        print("ok: %s" % what)
    else:
        print("FAIL: %s%s" % (what, " (got %r)" % (got,) if got != "" else ""))
        failures.append(what)
    sys.stdout.flush()


class Daemon(daemon_lib.DaemonProcess):
    def __init__(self, binary, tmp):
        super().__init__(binary, tmp)
        self.data = os.path.join(tmp, "data")
        self.sock = os.path.join(self.data, "admin.sock")
        os.makedirs(self.data, exist_ok=True)

    def start(self):
        def write_config():
            self.nfs_port = daemon_lib.free_port()
            cfg = os.path.join(self.tmp, "concordfs.yaml")
            with open(cfg, "w") as f:
                f.write(f"""data_dir: {self.data}
log_level: info
locks: {{grace_period: 0}}
mount: {{enabled: true, path: {self.mnt}, allow_other: true}}
nfs:
  enabled: true
  address: 127.0.0.1
  port: {self.nfs_port}
  portmapper: off
  exports:
    - {{path: /, clients: [127.0.0.0/8], squash: none}}
smb: {{enabled: false}}
""")
            return cfg

        def ready():
            return ("running;" in self.log_text() and
                    daemon_lib.port_accepts(self.nfs_port))

        if not self.start_with(write_config, ready, 15):
            raise RuntimeError("concordfs did not start within 15 s")


class Ctl:
    def __init__(self, binary, sock):
        self.binary, self.sock = binary, sock

    def run(self, *args):
        """(exit code, stdout, stderr) of concordctl --socket S ARGS."""
        p = subprocess.run([self.binary, "--socket", self.sock] + list(args),
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args):
        rc, out, err = self.run(*args, "--json")
        if rc != 0:
            raise RuntimeError("concordctl %s: exit %d: %s%s" % (" ".join(args), rc, out, err))
        return json.loads(out)

    def locks(self, *filters):
        return self.json("locks", *filters)["locks"]


def raw_request(path, data, timeout=10):
    """Sends bytes on the admin socket; returns the answer lines."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return [json.loads(l) for l in got.decode().splitlines() if l]


def connect_as_nobody(path):
    """In a child that dropped to uid nobody: "ok: <first answer line>" or
    "err <errno name>"."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(path)
            # A refused peer is told so at once and the connection closed
            # (a request sent first could meet a closed socket: EPIPE).
            line = s.makefile().readline().strip()
            msg = "ok: " + line
        except OSError as e:
            import errno
            msg = "err " + errno.errorcode.get(e.errno, str(e.errno))
        os.write(w, msg.encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return out.decode()


def key(e):
    return (e["state"], e["protocol"], e["client"], e["pid"], e["path"],
            e["first"], e["last"], e["mode"], e["flavour"])


def run(daemon, ctl, tool, tmp):
    # status
    st = ctl.json("status")
    check(st["ok"] and st["mount"] == {"enabled": True, "path": daemon.mnt},
          "status: the mount point", st.get("mount"))
    check(st["nfs"]["enabled"] and st["nfs"]["port"] == daemon.nfs_port
          and st["nfs"]["exports"][0]["path"] == "/",
          "status: NFS port and export", st.get("nfs"))
    check(st["smb"] == {"enabled": False}, "status: SMB off", st.get("smb"))
    check(st["store"]["healthy"] and st["admin_socket"] == daemon.sock,
          "status: store healthy, socket path", st.get("store"))
    rc, out, _ = ctl.run("status")
    check(rc == 0 and "mount: %s" % daemon.mnt in out and "store health: ok" in out
          and "EXPORT" in out, "status as text", out)

    # the socket
    mode = os.lstat(daemon.sock).st_mode
    check(oct(mode & 0o7777) == oct(0o600), "socket mode 0600", oct(mode & 0o7777))
    check(ctl.locks() == [], "no locks at first", ctl.locks())

    path = os.path.join(daemon.mnt, FILE_NAME)
    with open(path, "wb") as f:
        f.write(b"x" * 4096)

    holder = m.Holder(path)      # local fcntl lock 0-99
    waiter = m.Holder(path)      # local F_SETLKW behind the NLM lock
    nlm = m.NlmCli(tool, daemon.nfs_port, os.path.join(tmp, "nlm_lockcli.log"))
    try:
        r = holder.cmd("setlk w 0 100")
        check(r.startswith("ok"), "local fcntl lock 0-99", r)
        r = nlm.cmd("lock 7 1000 100 x")
        check(r == "granted", "NLM lock svid 7 1000-1099", r)
        r = nlm.cmd("lock 8 2000 0 s")
        check(r == "granted", "NLM shared lock svid 8 2000-EOF", r)
        waiter.send("setlkw w 1000 10")
        time.sleep(0.5)
        check(waiter.reply(0.1) is None, "local F_SETLKW 1000-1009 waits behind NLM")

        want = {
            ("held", "local", "local", holder.p.pid, "/" + FILE_NAME, 0, 99,
             "exclusive", "posix"),
            ("held", "nfs", "nlm-lockcli", 7, "/" + FILE_NAME, 1000, 1099,
             "exclusive", "posix"),
            ("held", "nfs", "nlm-lockcli", 8, "/" + FILE_NAME, 2000, None,
             "shared", "posix"),
            ("waiting", "local", "local", waiter.p.pid, "/" + FILE_NAME, 1000,
             1009, "exclusive", "posix"),
        }
        got = ctl.locks()
        check(len(got) == 4 and {key(e) for e in got} == want,
              "locks --json lists exactly the clients' locks and the waiter",
              [key(e) for e in got])
        check(all(e["age_ms"] < 60000 and e["file"] > 1 for e in got),
              "ages and inode ids", got)
        nfs_rows = [e for e in got if e["protocol"] == "nfs"]
        check(all(e["owner"].startswith("nlm:") and e["durable"] for e in nfs_rows),
              "NLM locks: durable, owner named", nfs_rows)

        def keys(*f):
            return sorted(key(e) for e in ctl.locks(*f))
        check(keys("--protocol", "nfs") == sorted(k for k in want if k[1] == "nfs"),
              "filter --protocol nfs", keys("--protocol", "nfs"))
        check(keys("--protocol", "local") == sorted(k for k in want if k[1] == "local"),
              "filter --protocol local", keys("--protocol", "local"))
        check(keys("--protocol", "smb") == [], "filter --protocol smb")
        check(keys("--client", "nlm-lockcli") == sorted(k for k in want if k[1] == "nfs"),
              "filter --client nlm-lockcli")
        check(len(keys("--client", "local")) == 2, "filter --client local")
        check(len(keys("--path", "/" + FILE_NAME)) == 4, "filter --path /lockfile")
        check(keys("--path", "/elsewhere") == [], "filter --path /elsewhere")
        check(len(keys("--path", "/", "--protocol", "nfs", "--client", "nlm-lockcli")) == 2,
              "filters combine")
        rc, out, err = ctl.run("locks", "--protocol", "ftp")
        check(rc == 1 and "unknown protocol 'ftp'" in err, "bad --protocol refused", err)

        rc, out, _ = ctl.run("locks")
        lines = out.splitlines()
        check(rc == 0 and lines[0].split()[:3] == ["STATE", "PROTOCOL", "CLIENT"]
              and len(lines) == 5 and any("nlm-lockcli" in l and "1000-1099" in l
                                          for l in lines)
              and any(l.startswith("waiting") for l in lines),
              "locks as a table", out)

        # release of the NFS client wakes the local waiter
        rc, out, err = ctl.run("release", "--client", "nlm-lockcli")
        check(rc == 2 and "--reason" in err, "release without a reason refused", err)
        rc, out, err = ctl.run("release", "--client", "no-such-host", "--reason", "x")
        check(rc == 1 and "no locks or waiters of client no-such-host" in err,
              "release of an unknown client refused", err)
        r = ctl.json("release", "--client", "nlm-lockcli", "--reason",
                     "admin test: client gone")
        check(r["released"] == 2, "release --client nlm-lockcli dropped 2 locks", r)
        woke = waiter.reply(5)
        check(woke is not None and woke.startswith("ok"),
              "the local F_SETLKW behind the NFS lock was granted", woke)
        got = ctl.locks()
        check({key(e) for e in got} == {
            ("held", "local", "local", holder.p.pid, "/" + FILE_NAME, 0, 99,
             "exclusive", "posix"),
            ("held", "local", "local", waiter.p.pid, "/" + FILE_NAME, 1000, 1009,
             "exclusive", "posix")}, "after release: only the local locks",
              [key(e) for e in got])
        check("admin test: client gone" in daemon.log_text()
              and "released 2 lock(s)" in daemon.log_text(),
              "the reason is in the daemon's log")

        # release of one owner
        owner = [e["owner"] for e in got if e["pid"] == waiter.p.pid][0]
        r = ctl.json("release", "--owner", owner, "--reason", "one owner")
        check(r["released"] == 1 and len(ctl.locks()) == 1,
              "release --owner drops only that owner's lock", r)
    finally:
        nlm.close()
        holder.close()
        waiter.close()
    time.sleep(0.3)
    check(ctl.locks() == [], "no locks after the clients closed", ctl.locks())

    # grace
    g = ctl.json("grace", "status")
    check(g["in_grace"] is False, "grace status", g)
    rc, out, _ = ctl.run("grace", "end")
    check(rc == 0 and out.strip() == "not in grace", "grace end", out)
    rc, _, err = ctl.run("grace", "sometimes")
    check(rc == 2, "grace with a bad action is a usage error", err)

    # malformed requests; the daemon keeps serving
    answers = raw_request(daemon.sock, b'garbage\n{"cmd":5}\n[1]\n{"cmd":"nope"}\n'
                          b'{"cmd":"locks","path":7}\n{"cmd":"grace"}\n')
    check([a.get("error") for a in answers] == [
        "request is not valid JSON", 'request has no "cmd" string',
        "request is not a JSON object",
        "unknown command 'nope' (expected locks, clients, release, grace or status)",
        'field "path" must be a string', None] and answers[-1]["ok"],
        "malformed requests get clear errors, on one connection", answers)
    answers = raw_request(daemon.sock, b"{" * 100 + b"\n")
    check(len(answers) == 1 and answers[0]["ok"] is False, "deep garbage", answers)
    check(ctl.json("status")["ok"], "still serving after malformed requests")

    # a non-root user
    if os.geteuid() == 0:
        for d in (tmp, daemon.data):
            os.chmod(d, 0o755)
        r = connect_as_nobody(daemon.sock)
        check(r == "err EACCES", "nobody cannot connect (mode 0600)", r)
        os.chmod(daemon.sock, 0o666)
        r = connect_as_nobody(daemon.sock)
        check(r.startswith("ok: ") and "permission denied" in r,
              "nobody is refused by the peer credential check too", r)
        os.chmod(daemon.sock, 0o600)
        check(ctl.json("status")["ok"], "root still served")


def main():
    if len(sys.argv) != 4:
        print("usage: admin_test.py CONCORDFS_BINARY CONCORDCTL NLM_LOCKCLI")
        return 2
    binary, ctl_bin, tool = (os.path.abspath(a) for a in sys.argv[1:4])
    for exe in (binary, ctl_bin, tool):
        if not os.access(exe, os.X_OK):
            print("FAIL: %s is not an executable" % exe)
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
    tmp = tempfile.mkdtemp(prefix="cfs-admin-", dir="/tmp")
    daemon = Daemon(binary, tmp)
    # A stale socket left by a crashed run: replaced at start.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(daemon.sock)
    stale.close()
    rpcbind = None
    try:
        rpcbind = m.Rpcbind(tmp)
        daemon.start()
        check("replacing the stale socket" in daemon.log_text(),
              "a stale socket file is replaced at start")
        print("concordfs: NFS/NLM on 127.0.0.1:%d, mount %s, admin socket %s"
              % (daemon.nfs_port, daemon.mnt, daemon.sock))
        run(daemon, Ctl(ctl_bin, daemon.sock), tool, tmp)
        daemon.stop()
        check(not os.path.exists(daemon.sock), "socket removed at stop")
    except Exception as e:
        print("FAIL: %s: %s" % (type(e).__name__, e))
        failures.append(str(e))
    finally:
        if failures:
            daemon.tail()
            m.tail_file(os.path.join(tmp, "nlm_lockcli.log"))
        daemon.stop()
        if rpcbind is not None:
            rpcbind.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed checks, %.1f s" % (len(failures), time.monotonic() - start))
    if failures:
        return 1
    print("admin: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
