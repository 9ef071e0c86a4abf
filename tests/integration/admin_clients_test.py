#!/usr/bin/env python3
"""`concordctl clients` with real clients: an NFS client (nlm_lockcli,
libnfs: two NLM v4 locks and a blocked request), two SMB2.1 sessions
(impacket: one with an open file and a byte-range lock, one with a file
opened under an RWH lease and one under a batch oplock) and a local
process holding an fcntl read lock through the FUSE mount. `clients --json`
must list exactly these clients with the right counts (locks, waiters,
NSM state and monitoring, user, dialect, trees, opens, oplocks, leases);
the filters must select the right rows; the NFS client's row must follow
its unlock and drop to zero after `release --client`; an SMB session's
row must follow its close and disappear at logoff; the local row must
disappear when the process exits.

  admin_clients_test.py CONCORDFS_BINARY CONCORDCTL NLM_LOCKCLI

Runs itself in a private network + mount namespace (root needed) with
Debian's rpcbind on 127.0.0.1:111, where the server looks the NLM
client's callback port up; every other port is picked free; all traffic
stays on 127.0.0.1.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "smb"))
# The lock-matrix test's daemon (FUSE + NFS + SMB, user alice), local lock
# holders, nlm_lockcli, rpcbind and the namespace; the lease test's SMB
# client that asks for leases and oplocks.
import smb_lock_matrix_test as m  # noqa: E402
import smb_lease_break_test as lb  # noqa: E402

NS_ENV = "CFS_ADMIN_CLIENTS_TEST_IN_NS"
FILE_NAME = m.FILE_NAME  # nlm_lockcli locks this name in the export's root
failures = []


def check(cond, what, got=""):
    if cond:
        print("ok: %s" % what)
    else:
        print("FAIL: %s%s" % (what, " (got %r)" % (got,) if got != "" else ""))
        failures.append(what)
    sys.stdout.flush()


class Ctl:
    def __init__(self, binary, sock):
        self.binary, self.sock = binary, sock

    def run(self, *args):
        p = subprocess.run([self.binary, "--socket", self.sock] + list(args),
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def json(self, *args):
        rc, out, err = self.run(*args, "--json")
        if rc != 0:
            raise RuntimeError("concordctl %s: exit %d: %s%s" % (" ".join(args), rc, out, err))
        return json.loads(out)

    def clients(self, *filters):
        return self.json("clients", *filters)["clients"]


def by_client(rows):
    return {r["client"]: r for r in rows}


def session_label(conn):
    """The CLIENT label `locks` and `clients` give an impacket session."""
    return "session:0x%x" % conn.getSMBServer()._Session["SessionID"]


def wait_for(pred, timeout=5):
    """pred()'s value once truthy, or its last value after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


def check_fields(row, want, what):
    got = {k: row.get(k) for k in want}
    check(got == want, what, got)


def run(daemon, ctl, tool, tmp):
    check(ctl.clients() == [], "no clients at first", ctl.clients())
    rc, out, _ = ctl.run("clients")
    check(rc == 0 and out == "no clients\n", "no clients, as text", out)

    path = os.path.join(daemon.mnt, FILE_NAME)
    with open(path, "wb") as f:
        f.write(b"x" * 4096)
    # The kernel sends the FUSE RELEASE after close() returns.
    check(wait_for(lambda: ctl.clients() == []),
          "the writer's open is gone", ctl.clients())

    nlm = m.NlmCli(tool, daemon.nfs_port, os.path.join(tmp, "nlm_lockcli.log"))
    smb_lock = m.Smb(daemon.port)   # session 1: FILE_NAME open, a lock
    smb_lease = lb.Client(daemon.port)  # session 2: a lease and an oplock
    local = None
    try:
        r = nlm.cmd("lock 7 1000 100 x")
        check(r == "granted", "NLM lock svid 7 1000-1099", r)
        r = nlm.cmd("lock 8 2000 0 s")
        check(r == "granted", "NLM shared lock svid 8 2000-EOF", r)
        r = nlm.cmd("lockw 9 1050 10 x")
        check(r == "blocked", "NLM lock svid 9 1050-1059 blocked behind svid 7", r)
        st = smb_lock.lock(0, 10, m.EXCLUSIVE | m.FAIL_IMMEDIATELY)
        check(st == m.STATUS_SUCCESS, "SMB lock 0-9", m.status_name(st))
        key = os.urandom(16)
        _, _, state = smb_lease.create("leased.txt", lb.OPLOCK_LEASE, key,
                                       lb.R | lb.W | lb.H)
        check(state == lb.R | lb.W | lb.H, "SMB open with an RWH lease", state)
        _, level, _ = smb_lease.create("oplocked.txt", lb.OPLOCK_BATCH)
        check(level == lb.OPLOCK_BATCH, "SMB open with a batch oplock", level)

        s1, s2 = session_label(smb_lock.conn), session_label(smb_lease.conn)
        rows = ctl.clients()
        got = by_client(rows)
        check(len(rows) == 3 and set(got) == {"nlm-lockcli", s1, s2},
              "clients --json lists exactly the NFS host and the two SMB sessions",
              [r["client"] for r in rows])
        if set(got) != {"nlm-lockcli", s1, s2}:
            return
        check([r["protocol"] for r in rows] == ["nfs", "smb", "smb"],
              "NFS first, then SMB", [r["protocol"] for r in rows])
        check_fields(got["nlm-lockcli"], {
            "protocol": "nfs", "address": "127.0.0.1", "nsm_state": 1,
            "monitored": True, "bound": True, "locks": 2, "waiting": 1,
            "shares": 0}, "NFS row: address, NSM state 1 (nlm_lockcli's), "
            "monitored, 2 locks, 1 waiter, no shares")
        common = {"protocol": "smb", "user": "alice", "guest": False,
                  "dialect": "2.1", "trees": 1, "durable": 0,
                  "disconnected": False, "encrypted": False}
        check_fields(got[s1], dict(common, opens=1, oplocks=0, leases=0,
                                   locks=1, waiting=0),
                     "SMB session 1: alice, 2.1, 1 tree, 1 open, 1 lock")
        check_fields(got[s2], dict(common, opens=2, oplocks=1, leases=1,
                                   locks=0, waiting=0),
                     "SMB session 2: 2 opens, 1 oplock, 1 lease, no locks")
        for s in (s1, s2):
            row = got[s]
            check(row["address"].startswith("127.0.0.1:")
                  and isinstance(row["signing"], bool)
                  and row["session_id"] == row["client_id"]
                  and s == "session:0x%x" % row["session_id"]
                  and 0 <= row["age_ms"] < 60000,
                  "SMB %s: address with port, signing flag, id, age" % s, row)

        # The same client names as `locks` gives them.
        lock_clients = {(e["protocol"], e["client"]) for e in
                        ctl.json("locks")["locks"]}
        check(lock_clients == {("nfs", "nlm-lockcli"), ("smb", s1)},
              "`locks` names the same clients", lock_clients)

        def names(*f):
            return sorted(r["client"] for r in ctl.clients(*f))
        check(names("--protocol", "nfs") == ["nlm-lockcli"], "filter --protocol nfs")
        check(names("--protocol", "smb") == sorted([s1, s2]), "filter --protocol smb")
        check(names("--protocol", "local") == [], "filter --protocol local")
        check(names("--client", "nlm-lockcli") == ["nlm-lockcli"],
              "filter --client NFS host name")
        check(names("--client", s2) == [s2], "filter --client session label")
        check(names("--client", str(got[s1]["session_id"])) == [s1],
              "filter --client session id")
        check(names("--client", got[s1]["address"]) == [s1],
              "filter --client SMB address with port")
        check(names("--client", "127.0.0.1") == sorted(["nlm-lockcli", s1, s2]),
              "filter --client address")
        rc, _, err = ctl.run("clients", "--path", "/")
        check(rc == 2 and "clients takes --protocol and --client" in err,
              "clients --path is a usage error", err)
        rc, _, err = ctl.run("clients", "--protocol", "ftp")
        check(rc == 1 and "unknown protocol 'ftp'" in err, "bad --protocol refused", err)

        rc, out, _ = ctl.run("clients")
        print(out, end="")
        lines = out.splitlines()
        check(rc == 0 and len(lines) == 4
              and lines[0].split()[:3] == ["PROTOCOL", "CLIENT", "ADDRESS"]
              and any(l.startswith("nfs") and "nlm-lockcli" in l and "1, monitored" in l
                      for l in lines)
              and any(l.startswith("smb") and s1 in l and "alice" in l and "2.1" in l
                      for l in lines),
              "clients as a table", out)

        # A local process holding a lock: one "local" row.
        local = m.Holder(path)
        r = local.cmd("setlk r 3000 10")
        check(r.startswith("ok"), "local fcntl read lock 3000-3009", r)
        row = by_client(ctl.clients()).get("local")
        check(row is not None and row["protocol"] == "local" and row["locks"] == 1
              and row["opens"] == 1 and row["waiting"] == 0,
              "local row: 1 lock, 1 open file", row)
        local.close()
        local = None
        check(wait_for(lambda: "local" not in by_client(ctl.clients())),
              "the local row goes when the process exits", ctl.clients())

        # NFS: an unlock, then the admin release of the rest.
        r = nlm.cmd("unlock 8 2000 0")
        check(r == "granted", "NLM unlock svid 8", r)
        row = by_client(ctl.clients("--protocol", "nfs"))["nlm-lockcli"]
        check(row["locks"] == 1 and row["waiting"] == 1,
              "after the unlock: 1 lock, 1 waiter", row)
        r = ctl.json("release", "--client", "nlm-lockcli", "--reason",
                     "admin clients test")
        check(r["released"] == 1 and r["cancelled"] == 1,
              "release --client nlm-lockcli: 1 lock, 1 waiter", r)
        row = by_client(ctl.clients("--protocol", "nfs")).get("nlm-lockcli")
        # The host stays bound and monitored (it has not said FREE_ALL or
        # SM_NOTIFY): its row stays, with nothing held.
        check(row is not None and row["locks"] == 0 and row["waiting"] == 0
              and row["shares"] == 0 and row["monitored"],
              "after release: the NFS row holds nothing", row)

        # SMB: closing the locked file drops its open and lock; logoff
        # drops the session.
        smb_lock.close_file()
        row = by_client(ctl.clients("--protocol", "smb")).get(s1)
        check(row is not None and row["opens"] == 0 and row["locks"] == 0
              and row["trees"] == 1, "SMB session 1 after CLOSE: no opens, no locks", row)
        smb_lock.logoff()
        check(wait_for(lambda: s1 not in by_client(ctl.clients())),
              "SMB session 1 gone after LOGOFF", ctl.clients())
        smb_lease.logoff()
        check(wait_for(lambda: not ctl.clients("--protocol", "smb")),
              "no SMB sessions after both logged off", ctl.clients())
    finally:
        if local is not None:
            local.close()
        nlm.close()
        smb_lock.logoff()
        smb_lease.logoff()


def main():
    if len(sys.argv) != 4:
        print("usage: admin_clients_test.py CONCORDFS_BINARY CONCORDCTL NLM_LOCKCLI")
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
    tmp = tempfile.mkdtemp(prefix="cfs-admin-clients-", dir="/tmp")
    daemon = m.Daemon(binary, tmp)
    rpcbind = None
    try:
        rpcbind = m.Rpcbind(tmp)
        daemon.start()
        sock = os.path.join(tmp, "data", "admin.sock")
        print("concordfs: SMB on 127.0.0.1:%d, NFS/NLM on 127.0.0.1:%d, mount %s, "
              "admin socket %s" % (daemon.port, daemon.nfs_port, daemon.mnt, sock))
        run(daemon, Ctl(ctl_bin, sock), tool, tmp)
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
    print("admin clients: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
