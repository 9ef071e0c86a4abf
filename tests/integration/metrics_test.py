#!/usr/bin/env python3
"""The Prometheus endpoint with real clients: the daemon serves FUSE, NFS
and SMB on free loopback ports and metrics on port 0 (it picks one and logs
it). /metrics is scraped over HTTP and parsed (the text format, by a small
parser here); then real operations run: writes and reads through the FUSE
mount, libnfs's nfs-cp/nfs-ls, smbclient put/get, open TCP connections, and
a local fcntl lock held while another process waits in F_SETLKW until it is
granted. Scrapes after each step check that the right series moved:
operation counts and latency histograms per protocol, bytes read/written,
connections, locks held and waiters (by protocol and flavour), grants, the
blocking-wait histogram, store sync latency. Also: the endpoint listens on
127.0.0.1 only.

  metrics_test.py CONCORDFS_BINARY
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import daemon_lib
from daemon_lib import free_port, port_accepts

failures = []


def check(cond, what, got=""):
    print(("ok: %s" if cond else "FAIL: %s") % what +
          ("" if cond or got == "" else " (got %r)" % (got,)))
    sys.stdout.flush()
    if not cond:
        failures.append(what)


# ---- the text format ----

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse(text):
    """{(name, ((label, value), ...)): float} and {family: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("unparsable line: %r" % line)
        labels, rest = [], m.group(3) or ""
        while rest.strip():
            lm = LABEL.match(rest)
            if not lm:
                raise ValueError("bad labels in %r" % line)
            labels.append((lm.group(1), lm.group(2)))
            rest = rest[lm.end():]
        samples[(m.group(1), tuple(sorted(labels)))] = float(m.group(4))
    return samples, types


class Scrape:
    def __init__(self, port):
        with urllib.request.urlopen(
                "http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            self.content_type = r.headers.get("Content-Type", "")
            self.text = r.read().decode()
        self.samples, self.types = parse(self.text)

    def get(self, name, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- the daemon ----

class Daemon(daemon_lib.DaemonProcess):
    def start(self):
        def write_config():
            self.nfs_port, self.smb_port = free_port(), free_port()
            cfg = os.path.join(self.tmp, "concordfs.yaml")
            with open(cfg, "w") as f:
                f.write(f"""data_dir: {self.tmp}/data
log_level: info
locks: {{grace_period: 0}}
# FUSE reads and writes reach the daemon (and its metrics) only without
# passthrough; with it they go straight to the content files.
mount: {{enabled: true, path: {self.mnt}, passthrough: false}}
nfs:
  enabled: true
  address: 127.0.0.1
  port: {self.nfs_port}
  udp: false
  portmapper: off
  exports:
    - {{path: /, clients: [127.0.0.0/8], squash: none}}
smb:
  enabled: true
  address: 127.0.0.1
  port: {self.smb_port}
  users:
    - {{name: alice, password: "Secret-1", uid: 0, gid: 0}}
  shares:
    - {{name: share, path: /, read_only: false}}
admin: {{enabled: false}}
metrics: {{enabled: true, address: 127.0.0.1, port: 0}}
""")
            return cfg

        def ready():
            m = re.search(r"metrics: http://127\.0\.0\.1:(\d+)/metrics",
                          self.log_text())
            if (m and os.path.ismount(self.mnt) and
                    port_accepts(self.nfs_port) and port_accepts(self.smb_port)):
                self.metrics_port = int(m.group(1))
                return True
            return False

        self.metrics_port = None
        if self.start_with(write_config, ready, 60):
            return True
        print(self.log_text())
        return False


# A child that takes an fcntl write lock on a file (F_SETLKW), says
# "locked", and holds it until its stdin closes.
LOCKER = r"""
import fcntl, sys
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def listening_addresses(port):
    """The local addresses of the TCP sockets listening on `port`."""
    out = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            addr, p = f[1].split(":")
            if int(p, 16) == port and f[3] == "0A":
                out.append(addr)
    return out


def main():
    binary = sys.argv[1]
    for tool in ("nfs-cp", "nfs-ls", "smbclient"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            return 0
    tmp = tempfile.mkdtemp(prefix="cfs-metrics-")
    d = Daemon(binary, tmp)
    try:
        if not d.start():
            check(False, "daemon starts and logs its metrics port")
            return 1
        run(d, tmp)
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all metrics checks passed")
    return 0


def run(d, tmp):
    port = d.metrics_port
    check(port != 0, "port 0 picked a port and logged it", port)
    # Loopback only.
    addrs = listening_addresses(port)
    check(addrs == ["0100007F"], "the endpoint listens on 127.0.0.1 only",
          addrs)

    s0 = Scrape(port)
    check(s0.content_type.startswith("text/plain"), "text/plain exposition",
          s0.content_type)
    for fam, typ in [("concordfs_ops_total", "counter"),
                     ("concordfs_op_seconds", "histogram"),
                     ("concordfs_bytes_read_total", "counter"),
                     ("concordfs_bytes_written_total", "counter"),
                     ("concordfs_connections", "gauge"),
                     ("concordfs_smb_sessions", "gauge"),
                     ("concordfs_locks_held", "gauge"),
                     ("concordfs_lock_waiters", "gauge"),
                     ("concordfs_lock_grants_total", "counter"),
                     ("concordfs_lock_denials_total", "counter"),
                     ("concordfs_lock_deadlocks_total", "counter"),
                     ("concordfs_lock_wait_seconds", "histogram"),
                     ("concordfs_grace_active", "gauge"),
                     ("concordfs_store_sync_seconds", "histogram")]:
        check(s0.types.get(fam) == typ, "family %s (%s)" % (fam, typ),
              s0.types.get(fam))
    check(s0.get("concordfs_grace_active") == 0, "not in grace")

    # FUSE: write a file through the mount.
    size = 300000
    data = os.urandom(size)
    with open(os.path.join(d.mnt, "local.bin"), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())

    # NFS: copy a file in and out with libnfs's tools, list the root.
    src = os.path.join(tmp, "src.bin")
    with open(src, "wb") as f:
        f.write(data)

    def url(path):
        return ("nfs://127.0.0.1/%s?nfsport=%d&mountport=%d&version=3" %
                (path, d.nfs_port, d.nfs_port))
    subprocess.run(["nfs-cp", src, url("/nfs.bin")], check=True,
                   stdout=subprocess.DEVNULL)
    out = os.path.join(tmp, "nfs-out.bin")
    subprocess.run(["nfs-cp", url("/local.bin"), out], check=True,
                   stdout=subprocess.DEVNULL)
    check(open(out, "rb").read() == data, "nfs-cp reads the FUSE-written file")
    ls = subprocess.run(["nfs-ls", url("/")], check=True,
                        capture_output=True, text=True).stdout
    check("nfs.bin" in ls, "nfs-ls lists the copied file")

    # SMB: put and get with smbclient.
    smb_out = os.path.join(tmp, "smb-out.bin")
    r = subprocess.run(
        ["smbclient", "//127.0.0.1/share", "-p", str(d.smb_port),
         "-U", "alice%Secret-1", "-m", "SMB3",
         "-c", "put %s smb.bin; get nfs.bin %s" % (src, smb_out)],
        capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "smbclient put/get", r.stdout + r.stderr)
    check(os.path.exists(smb_out) and open(smb_out, "rb").read() == data,
          "smbclient gets the NFS-written file")
    # FUSE read of a file the kernel has not cached (written over SMB).
    with open(os.path.join(d.mnt, "smb.bin"), "rb") as f:
        check(f.read() == data, "the SMB-written file reads back locally")

    # Open connections show in the gauges.
    conns = [socket.create_connection(("127.0.0.1", d.nfs_port)),
             socket.create_connection(("127.0.0.1", d.smb_port))]
    time.sleep(0.3)
    s1 = Scrape(port)
    for c in conns:
        c.close()
    check(s1.get("concordfs_connections", protocol="nfs") >= 1,
          "an open NFS TCP connection counts",
          s1.get("concordfs_connections", protocol="nfs"))
    check(s1.get("concordfs_connections", protocol="smb") >= 1,
          "an open SMB connection counts",
          s1.get("concordfs_connections", protocol="smb"))

    def moved(name, what, at_least=1, **labels):
        a, b = s0.get(name, **labels), s1.get(name, **labels)
        check(b - a >= at_least, "%s: %s %s moved by >= %d" %
              (what, name, labels, at_least), (a, b))

    for proto, op in [("fuse", "create"), ("fuse", "write"), ("fuse", "read"),
                      ("fuse", "lookup"), ("nfs", "write"), ("nfs", "read"),
                      ("nfs", "readdirplus"), ("mount", "mnt"),
                      ("smb", "negotiate"), ("smb", "session_setup"),
                      ("smb", "create"), ("smb", "write"), ("smb", "read")]:
        moved("concordfs_ops_total", "operations", protocol=proto, op=op)
        moved("concordfs_op_seconds_count", "latency samples",
              protocol=proto, op=op)
        inf = s1.get("concordfs_op_seconds_bucket", protocol=proto, op=op,
                     le="+Inf")
        cnt = s1.get("concordfs_op_seconds_count", protocol=proto, op=op)
        check(inf == cnt, "%s %s: +Inf bucket equals the count" % (proto, op),
              (inf, cnt))
    ls = [(k, v) for k, v in s1.samples.items()
          if k[0] == "concordfs_op_seconds_bucket" and
          dict(k[1]).get("op") == "write" and dict(k[1])["protocol"] == "nfs"]
    values = [v for _, v in sorted(
        ls, key=lambda kv: float(dict(kv[0][1])["le"]))]
    check(values == sorted(values) and len(values) > 2,
          "nfs write buckets are cumulative", values)
    for proto in ("fuse", "nfs", "smb"):
        moved("concordfs_bytes_written_total", "bytes written", size,
              protocol=proto)
        moved("concordfs_bytes_read_total", "bytes read", size,
              protocol=proto)
    moved("concordfs_store_sync_seconds_count", "store syncs")

    # Locks: one process holds an fcntl lock, another waits for it.
    path = os.path.join(d.mnt, "local.bin")
    holder = subprocess.Popen([sys.executable, "-c", LOCKER, path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    check(holder.stdout.readline().strip() == "locked", "holder locked")
    s2 = Scrape(port)
    check(s2.get("concordfs_locks_held", protocol="local",
                 flavour="posix") >= 1,
          "locks_held{local,posix} while held",
          s2.get("concordfs_locks_held", protocol="local", flavour="posix"))
    waiter = subprocess.Popen([sys.executable, "-c", LOCKER, path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    waiting = 0
    deadline = time.time() + 10
    while time.time() < deadline:
        s3 = Scrape(port)
        waiting = s3.get("concordfs_lock_waiters", protocol="local",
                         flavour="posix")
        if waiting >= 1:
            break
        time.sleep(0.05)
    check(waiting >= 1, "lock_waiters{local,posix} while F_SETLKW waits",
          waiting)
    time.sleep(0.3)  # a wait long enough to see in the histogram's sum
    holder.stdin.close()
    holder.wait(timeout=10)
    check(waiter.stdout.readline().strip() == "locked",
          "the waiter is granted after the holder exits")
    s4 = Scrape(port)
    waiter.stdin.close()
    waiter.wait(timeout=10)
    check(s4.get("concordfs_lock_grants_total") -
          s0.get("concordfs_lock_grants_total") >= 2, "two grants counted",
          (s0.get("concordfs_lock_grants_total"),
           s4.get("concordfs_lock_grants_total")))
    check(s4.get("concordfs_lock_wait_seconds_count") -
          s0.get("concordfs_lock_wait_seconds_count") >= 1,
          "the blocking wait is in the wait histogram",
          s4.get("concordfs_lock_wait_seconds_count"))
    check(s4.get("concordfs_lock_wait_seconds_sum") -
          s0.get("concordfs_lock_wait_seconds_sum") >= 0.3,
          "the wait lasted at least 0.3 s",
          s4.get("concordfs_lock_wait_seconds_sum"))
    check(s4.get("concordfs_lock_waiters", protocol="local",
                 flavour="posix") == 0, "no waiter left")
    check(s4.get("concordfs_ops_total", protocol="fuse", op="setlk") >= 2,
          "fuse setlk operations counted",
          s4.get("concordfs_ops_total", protocol="fuse", op="setlk"))
    # After both processes exited their locks are gone.
    deadline = time.time() + 5
    while time.time() < deadline:
        s5 = Scrape(port)
        held = s5.get("concordfs_locks_held", protocol="local",
                      flavour="posix")
        if held == 0:
            break
        time.sleep(0.05)
    check(held == 0, "locks_held back to 0 after release", held)


if __name__ == "__main__":
    sys.exit(main())
