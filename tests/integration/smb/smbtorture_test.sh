#!/usr/bin/env bash
# Samba's smbtorture (Debian samba-testsuite: the protocol test suite Samba
# runs against itself and Windows) against the daemon's SMB server, suite by
# suite (torture_run.py runs them, survives smbtorture crashes and hangs, and
# judges the results). Every test's result goes to
# BUILD_DIR/smbtorture-results.txt next to Samba's result for the same test
# on this machine (samba_reference.txt); the test fails if a test outside
# known_failures.txt fails. Known failures that pass are reported as "now
# passing" (not an error): remove them from the list.
#
#   smbtorture_test.sh CONCORDFS_BINARY SOURCE_DIR [BUILD_DIR]
#   SMB_TORTURE_SUITES="smb2.read smb2.dir" ...   (other suites)
# Reference run against Samba (writes BUILD_DIR/smbtorture-results-samba.txt,
# which is what samba_reference.txt holds; no known-failure check):
#   SMB_TEST_SERVER=samba smbtorture_test.sh - SOURCE_DIR [BUILD_DIR]
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
out_dir=$(cd "${3:-.}" && pwd)
tmp=$(mktemp -d /tmp/cfs-smbtorture-XXXXXX)
source "$here/smb_lib.sh"
cleanup() {
  smb_stop
  rm -rf "$tmp"
}
trap cleanup EXIT
command -v smbtorture > /dev/null ||
  { echo "FAIL: smbtorture not installed (apt-get install samba-testsuite)"; exit 1; }

suites=(${SMB_TORTURE_SUITES:-smb2.connect smb2.read smb2.getinfo smb2.setinfo
  smb2.dir smb2.rename smb2.create smb2.delete-on-close-perms smb2.timestamps
  smb2.credits smb2.compound smb2.lock smb2.session smb2.multichannel.generic smb2.sharemode smb2.deny smb2.oplock
  smb2.lease smb2.notify smb2.durable-open smb2.durable-open-disconnect
  smb2.durable-v2-open})
# Results file name: smbtorture-results[-TAG].txt (ctest runs the suites in
# two groups at once, each with its own daemon).
tag=${SMB_TORTURE_TAG:+-$SMB_TORTURE_TAG}

smb_start
echo "server: $smb_server on 127.0.0.1:$smb_port (user alice, uid 0)"
mkdir -p "$tmp/raw"
judge=(--known "$here/known_failures.txt" --reference "$here/samba_reference.txt")
results=$out_dir/smbtorture-results$tag.txt
if [ "$smb_server" = samba ]; then
  judge=()
  results=$out_dir/smbtorture-results-samba$tag.txt
fi
rc=0
python3 "$here/torture_run.py" --port "$smb_port" --user "$SMB_ALICE" \
  --server "$smb_server" --results "$results" --raw-dir "$tmp/raw" \
  --per-run 400 --per-test 60 --suite-per-test smb2.notify=20 \
  --budget 1000 "${judge[@]}" "${suites[@]}" || rc=$?
echo "results: $results"
if ! kill -0 "$smb_pid" 2>/dev/null; then
  echo "FAIL: $smb_server is no longer running after the suites"
  smb_log_tail 40
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  # The raw output of the failing tests' runs, for the log.
  for f in "$tmp"/raw/*.out; do
    grep -q -E '^(failure|error): ' "$f" || continue
    echo "---- $(basename "$f") (failures and errors) ----"
    grep -A 3 -E '^(failure|error): ' "$f" | grep -v -E '^(--|time: )' | head -n 60
  done
  smb_log_tail 40
  echo "FAIL: smbtorture: tests outside known_failures.txt failed"
  exit 1
fi
echo "smbtorture: ok ($smb_server)"
