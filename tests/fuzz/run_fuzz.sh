#!/usr/bin/env bash
# Runs one libFuzzer binary with the given arguments. Exit status 70 means
# the only findings were timeouts, which the config fuzzer tolerates (known
# yaml-cpp 0.7 hangs on some malformed YAML; see README); a crash, a leak or
# a failed assertion in the target still fails.
"$@"
rc=$?
if [ "$rc" -eq 70 ]; then
  echo "fuzz: timeouts only (no crash)"
  exit 0
fi
exit "$rc"
