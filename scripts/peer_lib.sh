# Sourced by the scripts that run concordfs's peers (NFS-Ganesha, Samba)
# next to it: benchmarks and the harness reference.
#
# ensure_packages WHO PACKAGE...
#   Installs the Debian packages that are missing (quietly, without
#   recommends); WHO names the script in the message.
ensure_packages() {
  local who=$1 p missing=()
  shift
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "$who: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d may refuse to start a packaged service: not needed here.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
}

# ganesha_conf STATE_DIR EXPORT_PATH PSEUDO
#   Prints a ganesha.conf: NFSv3 only on 2049 (MOUNT 20048, NLM 32803), no
#   grace period at start (Graceless, recovery state in STATE_DIR), FSAL VFS
#   exporting EXPORT_PATH read-write to 127.0.0.0/8 without root squash.
#   Bind_addr stays at its default (any): ganesha resolves the address with
#   AI_ADDRCONFIG, which finds no IPv4 address in a namespace that has only
#   loopback, so "127.0.0.1" is refused there; any address in such a
#   namespace is loopback anyway. An NFSv3 MOUNT names the export's Path,
#   not its Pseudo path.
ganesha_conf() {
  cat <<EOC
NFS_CORE_PARAM {
  Protocols = 3;
  NFS_Port = 2049;
  MNT_Port = 20048;
  NLM_Port = 32803;
  Enable_RQUOTA = false;
}
NFSV4 {
  Graceless = true;
  RecoveryRoot = "$1/ganesha-recovery";
}
NFS_KRB5 {
  Active_krb5 = false;
}
EXPORT {
  Export_Id = 1;
  Path = "$2";
  Pseudo = "$3";
  Protocols = 3;
  Transports = TCP, UDP;
  SecType = sys;
  Access_Type = None;
  Squash = No_Root_Squash;
  CLIENT {
    Clients = 127.0.0.0/8;
    Access_Type = RW;
  }
  FSAL {
    Name = VFS;
  }
}
EOC
}
