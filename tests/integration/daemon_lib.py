"""Shared by the Python integration tests that run the real daemon: free
loopback ports, readiness probes, and the daemon process itself (its log,
stopping it by its PID, cleaning up its FUSE mount). Each test writes its
own configuration and decides when the daemon is ready.
"""
import os
import signal
import socket
import subprocess
import time


def free_port():
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_accepts(port, timeout=2):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False


class DaemonProcess:
    """The daemon started by a test: `mnt` (its FUSE mount point, created
    here), `log` (its output), `proc` (set by the test's start())."""

    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp
        self.mnt = os.path.join(tmp, "mnt")
        self.log = os.path.join(tmp, "daemon.log")
        self.proc = None
        os.makedirs(self.mnt, exist_ok=True)

    def spawn(self, cfg):
        """Starts the daemon on configuration file `cfg`, output to the log."""
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen([self.binary, "--config", cfg],
                                         stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=subprocess.STDOUT)

    def start_with(self, write_config, ready, seconds=10):
        """Writes a configuration (write_config() picks ports and returns
        its path), starts the daemon and waits until ready() is true. Tries
        up to 3 times when a port picked free was taken meanwhile. False if
        the daemon exited or did not get ready in time."""
        for _ in range(3):
            self.spawn(write_config())
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if ready():
                    return True
                time.sleep(0.1)
            if self.proc.poll() is None:
                return False  # running but not ready in time
            self.proc = None
            if "address already in use" not in self.log_text().lower():
                return False
        return False

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

    def stop(self, timeout=15):
        """SIGTERM (SIGKILL if it does not exit in time), then the mount is
        taken down if the daemon could not do it itself."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if subprocess.call(["mountpoint", "-q", self.mnt]) == 0:
            subprocess.call(["umount", "-l", self.mnt])
