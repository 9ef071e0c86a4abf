#!/usr/bin/env python3
"""Runs smbtorture suites against one SMB server and judges the results.

Each suite runs in one smbtorture process (--fullname: results are named
suite.test). smbtorture prints "test: NAME" when a test starts and then
"success: NAME", "failure: NAME [ reason ]", "skip: NAME [ reason ]" or
"error: NAME [ reason ]". A test that started without a result means the
process died (smbtorture itself crashes in a few tests) or was stopped by the
watchdog (--per-test seconds for one test, --per-run for one process): it is
recorded as an error and the suite's remaining tests (from smbtorture
--list) run in a new process, until every test has a result or the time
budget is spent.

Writes one line per test to --results (tab-separated: result, name, the
reference server's result for that test if --reference is given, the first
line of the reason), then per-suite counts. With --known: exits 1 if a test
outside the known failures fails or errs; known failures that now pass are
printed as "now passing" (not an error).

Known-failure file: one "suite.test  # reason" per line ('#' lines and blank
lines are ignored; a name may contain spaces).
"""
import argparse
import collections
import os
import re
import signal
import subprocess
import sys
import time

RESULT_RE = re.compile(r"^(success|failure|skip|error|xfail|uxsuccess): (.*?)( \[.*)?$")
TEST_RE = re.compile(r"^test: (.*)$")


def list_tests(suite):
    """Test names of a suite as --fullname reports them (the listing's
    "tcase.test" is just "test" when both are the same)."""
    out = subprocess.run(["smbtorture", "--list", "//127.0.0.1/x", suite],
                         capture_output=True, text=True, timeout=60).stdout
    names = []
    for line in out.splitlines():
        if not line.startswith("smb"):  # banner
            continue
        parts = line.split(".")
        if len(parts) >= 2 and parts[-1] == parts[-2]:
            parts = parts[:-1]
        name = ".".join(parts)
        # --list SUITE also lists suites whose names start with SUITE
        # (smb2.compound -> smb2.compound_find): keep SUITE's own tests.
        if name == suite or name.startswith(suite + "."):
            names.append(name)
    return names


def parse(text):
    """(results {name: (result, reason)}, started-without-result name)."""
    results = {}
    started = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = TEST_RE.match(line)
        if m:
            started = m.group(1)
            i += 1
            continue
        m = RESULT_RE.match(line)
        if m:
            result, name = m.group(1), m.group(2)
            reason = ""
            if m.group(3):  # " [" then reason lines up to "]"
                rest = m.group(3)[2:].strip()
                reason_lines = [rest] if rest and rest != "]" else []
                if not rest.endswith("]"):
                    i += 1
                    while i < len(lines) and lines[i].strip() != "]":
                        reason_lines.append(lines[i].strip())
                        i += 1
                reason = next((r for r in reason_lines if r), "")
            result = {"xfail": "failure", "uxsuccess": "success"}.get(result, result)
            results[name] = (result, reason)
            if started == name:
                started = None
        i += 1
    return results, started


def describe_exit(rc):
    if rc < 0:
        return f"smbtorture died of signal {signal.Signals(-rc).name} in this test"
    if rc >= 128:
        return f"smbtorture died (exit {rc}) in this test"
    return f"smbtorture exited ({rc}) in this test"


def run_suite(suite, base_cmd, raw_dir, per_run, per_test, deadline):
    listed = list_tests(suite)
    results = {}
    args = [suite]
    round_no = 0
    while True:
        round_no += 1
        remaining = deadline - time.monotonic()
        if remaining < 5:
            for n in listed:
                results.setdefault(n, ("error", "not run: the time budget was spent"))
            break
        limit = min(per_run, remaining)
        raw = os.path.join(raw_dir, f"{suite}.{round_no}.out")
        timed_out = None
        with open(raw, "w") as f:
            p = subprocess.Popen(base_cmd + args, stdout=f, stderr=subprocess.STDOUT,
                                 start_new_session=True)
            # Watchdog: the whole run gets `limit` seconds, each test
            # per_test seconds from its "test:" line.
            t_start = time.monotonic()
            last_test, last_test_at = None, t_start
            while p.poll() is None:
                time.sleep(0.2)
                now = time.monotonic()
                current = None
                with open(raw, errors="replace") as r:
                    for line in r:
                        m = TEST_RE.match(line)
                        if m:
                            current = m.group(1)
                if current != last_test:
                    last_test, last_test_at = current, now
                if now - t_start > limit:
                    timed_out = f"smbtorture run timed out after {limit:.0f} s in this test"
                elif now - last_test_at > per_test:
                    timed_out = f"no result within {per_test} s (hang?)"
                if timed_out:
                    os.killpg(p.pid, signal.SIGKILL)
                    break
            rc = p.wait()
        text = open(raw, errors="replace").read()
        got, started = parse(text)
        new = {k: v for k, v in got.items() if k not in results}
        results.update(new)
        if started and started not in results:
            results[started] = ("error", timed_out or describe_exit(rc))
            new[started] = results[started]
        pending = [n for n in listed if n not in results]
        if not pending:
            break
        if not new:
            tail = " | ".join(l.strip() for l in text.splitlines()[-3:] if l.strip())
            for n in pending:
                results[n] = ("error", f"no result (smbtorture exit {rc}: {tail[:200]})")
            break
        args = pending
    if not results:
        results[suite] = ("error", "smbtorture listed and ran no test")
    order = {n: i for i, n in enumerate(listed)}
    return sorted(results.items(), key=lambda kv: order.get(kv[0], len(order)))


def read_known(path):
    known = {}
    if not path or not os.path.exists(path):
        return known
    for line in open(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, reason = line.partition("#")
        known[name.strip()] = reason.strip()
    return known


def read_reference(path):
    ref = {}
    if not path or not os.path.exists(path):
        return ref
    for line in open(path):
        if line.startswith("#") or "\t" not in line:
            continue
        cols = line.rstrip("\n").split("\t")
        if len(cols) >= 2:
            ref[cols[1]] = cols[0]
    return ref


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--share", default="share")
    ap.add_argument("--server", default="concordfs")
    ap.add_argument("--results", required=True)
    ap.add_argument("--raw-dir", required=True)
    ap.add_argument("--known")
    ap.add_argument("--reference")
    ap.add_argument("--per-run", type=int, default=120)
    ap.add_argument("--per-test", type=int, default=45)
    # A suite whose tests are all quick may get a shorter watchdog, so a
    # test that waits forever for a notification costs little:
    # --suite-per-test smb2.notify=20
    ap.add_argument("--suite-per-test", action="append", default=[])
    ap.add_argument("--budget", type=int, default=420)
    ap.add_argument("--option", action="append", default=[])
    ap.add_argument("suites", nargs="+")
    a = ap.parse_args()

    base = ["smbtorture", f"//127.0.0.1/{a.share}", "-p", a.port, "-U", a.user,
            "--fullname"] + [f"--option={o}" for o in a.option]
    deadline = time.monotonic() + a.budget
    known = read_known(a.known)
    ref = read_reference(a.reference)
    version = (subprocess.run(["smbtorture", "--version"], capture_output=True,
                              text=True).stdout.strip().splitlines() or ["?"])[-1].replace("Version ", "")
    all_results = []
    counts = collections.OrderedDict()
    suite_per_test = dict((k, int(v)) for k, v in
                          (o.split("=", 1) for o in a.suite_per_test))
    for suite in a.suites:
        t0 = time.monotonic()
        res = run_suite(suite, base, a.raw_dir, a.per_run,
                        suite_per_test.get(suite, a.per_test), deadline)
        secs = time.monotonic() - t0
        c = collections.Counter(r for _, (r, _) in res)
        counts[suite] = (c, secs)
        all_results += res
        print(f"{suite:<28} " + " ".join(f"{k} {c[k]}" for k in
              ("success", "failure", "error", "skip") if c[k]) + f"  ({secs:.0f} s)",
              flush=True)

    with open(a.results, "w") as f:
        f.write(f"# smbtorture {version} against {a.server} (//127.0.0.1/{a.share}, "
                f"port {a.port}), {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.write("# result\ttest\t" + ("reference result\t" if ref else "") +
                "reason (first line)\n")
        for name, (r, reason) in all_results:
            cols = [r, name]
            if ref:
                cols.append(f"samba: {ref.get(name, '-')}")
            cols.append(reason)
            f.write("\t".join(cols) + "\n")
        f.write("# per suite: success failure error skip (seconds)\n")
        for suite, (c, secs) in counts.items():
            f.write(f"# {suite}\t{c['success']}\t{c['failure']}\t{c['error']}\t"
                    f"{c['skip']}\t{secs:.0f}\n")

    if a.known is None:
        return 0
    unexpected, now_passing = [], []
    for name, (r, reason) in all_results:
        if r in ("failure", "error") and name not in known:
            unexpected.append((name, r, reason))
        elif r == "success" and name in known:
            now_passing.append(name)
    for name in now_passing:
        print(f"now passing (remove from known_failures.txt): {name}")
    seen = {n for n, _ in all_results}
    for name in known:
        if name not in seen and any(name.startswith(s + ".") or name == s for s in a.suites):
            print(f"known failure not run: {name}")
    for name, r, reason in unexpected:
        print(f"UNEXPECTED {r}: {name}: {reason}"
              + (f" (samba: {ref[name]})" if name in ref else ""))
    total = collections.Counter(r for _, (r, _) in all_results)
    print(f"{len(all_results)} tests: " + ", ".join(f"{total[k]} {k}" for k in
          ("success", "failure", "error", "skip")) +
          f"; {len(unexpected)} unexpected, {len(now_passing)} known failures now passing")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
