#!/usr/bin/env bash
# scripts/harness_reference.sh (the lock-interop harness against Samba +
# NFS-Ganesha sharing one directory) runs to completion here: the report and
# its JSON are produced and every cell was observed. Whether Samba and
# Ganesha behave like concordfs is what the report records, not checked.
#
#   harness_reference_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
out=$(mktemp -d /tmp/cfs-harness-ref-XXXXXX)
trap 'rm -rf "$out"' EXIT
if ! "$src/scripts/harness_reference.sh" "$build" "$out/report.md" > "$out/run.log" 2>&1; then
  tail -n 40 "$out/run.log"
  echo "FAIL: scripts/harness_reference.sh did not complete"
  exit 1
fi
tail -n 45 "$out/run.log"
python3 - "$out/report.md" "$out/report.json" <<'PY'
import json, sys
md, js = sys.argv[1], sys.argv[2]
text = open(md).read()
report = json.load(open(js))
cells = report["cells"]
fail = []
if "## Deviations" not in text or "### blocking" not in text:
    fail.append("the Markdown report lacks its tables or deviation list")
if len(cells) != 64:
    fail.append("%d cells, not 64" % len(cells))
nfs_skipped = report["target"]["skip_nfs"]
for c in cells:
    if c["observed"] in ("", None) or (c["observed"] == "skipped" and not nfs_skipped):
        fail.append("%s %s not observed" % (c["section"], c["id"]))
if nfs_skipped:
    print("note: NFS-Ganesha did not start; the report is SMB-only (see its notes)")
for f in fail:
    print("FAIL: " + f)
if fail:
    sys.exit(1)
print("harness reference: %d cells observed, %d deviations recorded"
      % (len(cells), report["summary"]["deviations"]))
PY
