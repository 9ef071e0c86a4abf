#!/usr/bin/env bash
# Installs what is missing, builds everything with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test (unit and integration)
# through ctest. Exit status is ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# ThreadSanitizer only for what needs it: the lock manager's stress test.
cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCONCORDFS_SANITIZE=thread -DCONCORDFS_BUILD_BENCH=OFF > /dev/null
ninja -C build/tsan lock_stress
# libFuzzer targets for the parsers of stored records, the config, and the
# XDR/RPC decoders with the RPC programs behind them (clang).
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONCORDFS_SANITIZE=address,undefined \
  -DCONCORDFS_FUZZ=ON -DCONCORDFS_BUILD_TESTS=OFF -DCONCORDFS_BUILD_BENCH=OFF \
  > /dev/null
ninja -C build/fuzz records_fuzz config_fuzz rpc_fuzz xdr_fuzz smb_fuzz ntlm_fuzz
build=build/asan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCONCORDFS_SANITIZE=address,undefined -DCONCORDFS_BUILD_BENCH=OFF \
  -DCFS_TSAN_STRESS="$PWD/build/tsan/tests/lock_stress" \
  -DCFS_FUZZ_DIR="$PWD/build/fuzz" > /dev/null
ninja -C "$build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 900
