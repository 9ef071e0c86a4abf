#!/usr/bin/env bash
# Installs the Debian 12 packages concordfs needs to build, run and test.
# Idempotent: only packages that are missing are installed; nothing else is touched.
# Usage: scripts/setup.sh            (build + run + test dependencies)
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache clang-format make git
  # libraries (why each one is here: README.md, "Dependencies")
  libleveldb-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libfuse3-dev
  libboost-dev libssl-dev nlohmann-json3-dev prometheus-cpp-dev
  # runtime: the FUSE mount helper and kernel interface
  fuse3
  # tests and benchmarks (clang + its runtime: the libFuzzer targets)
  clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev procps python3 fio
  # NFS client used by the NFS tests and benchmark (libnfs: API + tools)
  libnfs-dev libnfs-utils
  # rpcbind + rpcinfo: the portmapper test (system rpcbind mode); iproute2: netns
  rpcbind iproute2
  # SMB clients nobody here wrote, used by the SMB tests: smbclient (transfers,
  # dialects, signing, encryption) and smbtorture (Samba's protocol suites)
  smbclient samba-testsuite
  # impacket: SMB2 LOCK requests built by hand (smb_lock_matrix_test.py)
  python3-impacket
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or install them with apt-get) and try again" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
