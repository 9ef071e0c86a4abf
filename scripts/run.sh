#!/usr/bin/env bash
# Installs what is missing, builds, and runs the daemon in the foreground on
# the default configuration (daemon/concordfs.yaml; data in ./concordfs-data).
# Ctrl-C stops it cleanly. Extra arguments go to the daemon, e.g.
#   scripts/run.sh --print-config
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCONCORDFS_BUILD_TESTS=OFF -DCONCORDFS_BUILD_BENCH=OFF > /dev/null
ninja -C build/release concordfs
exec build/release/daemon/concordfs --config daemon/concordfs.yaml "$@"
