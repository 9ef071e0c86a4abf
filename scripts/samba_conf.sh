# Sourced by the scripts and tests that start Samba's smbd next to
# concordfs (benchmarks, the harness reference, the SMB tests' reference
# runs).
#
# samba_global STATE_DIR PORT NETBIOS_NAME [LINE...]
#   Creates STATE_DIR's subdirectories and prints the [global] section of an
#   smb.conf for an smbd that keeps all its state there, listens on
#   127.0.0.1:PORT only (no NetBIOS, no printers), authenticates from
#   STATE_DIR/passdb.tdb and maps users through STATE_DIR/users.map; each
#   LINE is added to the section as is ("server signing = mandatory").
samba_global() {
  local s=$1 port=$2 name=$3 line
  shift 3
  mkdir -p "$s"/{run,lock,state,cache,private,ncalrpc,log}
  cat <<EOC
[global]
  workgroup = WORKGROUP
  netbios name = $name
  server role = standalone server
  smb ports = $port
  bind interfaces only = yes
  interfaces = lo
  disable netbios = yes
  server min protocol = SMB2_02
  pid directory = $s/run
  lock directory = $s/lock
  state directory = $s/state
  cache directory = $s/cache
  private dir = $s/private
  ncalrpc dir = $s/ncalrpc
  log file = $s/log/log.%m
  passdb backend = tdbsam:$s/passdb.tdb
  username map = $s/users.map
  map to guest = never
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
EOC
  for line in "$@"; do echo "  $line"; done
}
