"""Prints the vfs benchmark medians side by side with the native filesystem."""
import json
import sys

locks_mode = sys.argv[1] == "--locks"
args = sys.argv[2:] if locks_mode else sys.argv[1:]
path, reps = args[0], args[1]
data = json.load(open(path))
median = {}
for b in data["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name = b["run_name"]
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    median[name] = 1.0 / (b["real_time"] * unit)  # ops/s
    if "items_per_second" in b:
        median[name] = b["items_per_second"]

if locks_mode:
    print(f"lock manager benchmark, medians of {reps} runs")
    for name, v in median.items():
        label = name.replace("BM_", "").replace("/real_time", "")
        print(f"  {label:<40} {v:14,.0f} /s  ({1e9 / v:8.1f} ns each)")
    one = median.get("BM_LockUnlockThreads/real_time/threads:1")
    two = median.get("BM_LockUnlockThreads/real_time/threads:2")
    if one and two:
        print(f"  scaling 2 threads / 1 thread (different files): {two / one:.2f}x")
    sys.exit(0)

ops = ["Create", "Lookup", "GetAttr", "Write4K", "Read4K", "Unlink"]
print(f"vfs benchmark, medians of {reps} runs, ops/s (higher is better)")
print(f"{'operation':<10} {'concordfs':>12} {'concordfs':>12} {'native fs':>12} "
      f"{'ratio':>8}")
print(f"{'':<10} {'sync=batch':>12} {'sync=none':>12} {'(same disk)':>12} "
      f"{'batch/nat':>8}")


def lookup(name, arg=None):
    for k, v in median.items():
        parts = k.split("/")
        if parts[0] != name:
            continue
        if arg is None or (len(parts) > 1 and parts[1] == str(arg)):
            return v
    return None


for op in ops:
    batch = lookup("BM_" + op, 0) or lookup("BM_" + op)
    none = lookup("BM_" + op, 1)
    native = lookup("BM_Native" + op)
    ratio = f"{batch / native:.2f}" if batch and native else "-"
    fmt = lambda v: f"{v:12,.0f}" if v else f"{'-':>12}"
    print(f"{op:<10} {fmt(batch)} {fmt(none)} {fmt(native)} {ratio:>8}")
