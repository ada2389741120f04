#!/usr/bin/env bash
# netns-fabric.sh - build by hand the emulated cluster that `collbench run --launcher netns`
# builds, to run other tools (iperf3, Gloo, MPI, ...) across the same fabric.
#
#   netns-fabric.sh up   [-n NODES] [-r RATE] [-g NGROUPS] [-u UPLINK_RATE] [-m MTU] [-G PER_NODE] [-N NAME]
#   netns-fabric.sh down [-N NAME]
#   netns-fabric.sh exec RANK [-N NAME] -- CMD ARGS...   (run CMD in rank RANK's namespace)
#   netns-fabric.sh status [-N NAME]
#
# Fabric (needs root; nothing is created or addressed in the root namespace):
#   cbf-NAME-n<r>  node r: eth0 = 10.77.x.y/16 (rank 0 = 10.77.0.2, rank 1 = 10.77.0.3, ...),
#                  tbf RATE on eth0 (what the node sends)
#   cbf-NAME-sw    the switch: bridge br0 (one group) or leaves br0..br<G-1> joined to bridge
#                  `spine` by veth pairs up<g>/dn<g>; port n<r> of node r has tbf RATE (what the
#                  node receives); up<g> and dn<g> have tbf UPLINK_RATE (each direction)
# -G PER_NODE (default 1): NODES ranks in NODES/PER_NODE namespaces cbf-NAME-n<node>, rank r in
#                  n<r/PER_NODE> on NIC eth<r%PER_NODE> (its own port n<r>, tbf RATE both ways);
#                  each NIC answers ARP for its own address only and sends what its address
#                  sends (rule from ADDR -> table 100+k); ranks of one node talk over loopback
# RATE and UPLINK_RATE take tc units (500mbit, 1gbit); "none" leaves links unshaped. MTU (default
# 9000, jumbo frames, as collbench's launcher) is set on every link and bridge.
# Rank r is in group r*G/NODES (consecutive blocks). The tbf bucket is max(64 KiB, 1 ms at the
# rate) and its queue holds 50 ms at the rate, as in collbench's launcher.
# The prefix cbf- keeps these apart from collbench's own cb-<run id>-* namespaces, which a
# collbench run removes when their run is dead; these stay until `down`.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "netns-fabric.sh: $*" >&2; exit 1; }

cmd=${1:-}; [ -n "$cmd" ] || usage
shift
NODES=4 RATE=500mbit NGROUPS=1 UPLINK=none NAME=fab RANK= MTU=9000 PER=1
if [ "$cmd" = exec ]; then RANK=${1:-}; shift || true; fi
while [ $# -gt 0 ]; do
  case $1 in
    -n) NODES=$2; shift 2 ;;
    -r) RATE=$2; shift 2 ;;
    -g) NGROUPS=$2; shift 2 ;;
    -u) UPLINK=$2; shift 2 ;;
    -N) NAME=$2; shift 2 ;;
    -m) MTU=$2; shift 2 ;;
    -G) PER=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage 0 ;;
    *) [ "$cmd" = exec ] && break; die "unknown option $1" ;;
  esac
done
[[ $NAME =~ ^[A-Za-z0-9]{1,20}$ ]] || die "-N: '$NAME' must be 1-20 letters or digits"
[[ $MTU =~ ^[0-9]+$ ]] && [ "$MTU" -ge 1280 ] && [ "$MTU" -le 65535 ] || die "-m: MTU '$MTU' must be 1280..65535"
SW=cbf-$NAME-sw

# Bits per second of a tc rate ("500mbit" -> 500000000).
bits() {
  awk -v r="$1" 'BEGIN {
    n = r + 0; u = tolower(substr(r, length(n "") + 1));
    m["bit"]=1; m[""]=1; m["kbit"]=1e3; m["mbit"]=1e6; m["gbit"]=1e9; m["tbit"]=1e12;
    m["bps"]=8; m["kbps"]=8e3; m["mbps"]=8e6; m["gbps"]=8e9;
    if (!(u in m) || n <= 0) exit 1; printf "%.0f\n", n * m[u] }'
}

# tc -n NS qdisc add dev DEV root tbf ... for RATE
shape() {
  local ns=$1 dev=$2 rate=$3 bps burst limit
  [ "$rate" = none ] && return 0
  bps=$(bits "$rate") || die "'$rate' is not a tc rate (500mbit, 1gbit, ...)"
  burst=$(( bps / 8 / 1000 )); [ "$burst" -lt 65536 ] && burst=65536
  limit=$(( bps / 8 / 20 + burst ))
  tc -n "$ns" qdisc add dev "$dev" root tbf rate "${bps}bit" burst "$burst" limit "$limit"
}

addr() { local n=$(( $1 + 1 )); echo "10.77.$(( n / 250 )).$(( n % 250 + 1 ))"; }

ours() { ip netns list | awk '{print $1}' | grep -E "^cbf-$NAME-(sw|n[0-9]+)$" || true; }

down() {
  local ns
  # Nodes first (their processes are killed by PID), the switch last.
  for ns in $(ours | sort -r); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces)"
  command -v ip >/dev/null && command -v tc >/dev/null || die "iproute2 missing (ip, tc)"
  [[ $NODES =~ ^[0-9]+$ ]] && [ "$NODES" -ge 1 ] && [ "$NODES" -le 1000 ] || die "-n: 1..1000"
  [[ $NGROUPS =~ ^[0-9]+$ ]] && [ "$NGROUPS" -ge 1 ] && [ "$NGROUPS" -le "$NODES" ] || die "-g: 1..NODES"
  [[ $PER =~ ^[0-9]+$ ]] && [ "$PER" -ge 1 ] && [ $(( NODES % PER )) -eq 0 ] || die "-G: a divisor of NODES"
  [ "$PER" -eq 1 ] || command -v sysctl >/dev/null || die "-G needs sysctl (procps)"
  local first
  for ((first = 0; first < NODES; first += PER)); do
    [ $(( first * NGROUPS / NODES )) -eq $(( (first + PER - 1) * NGROUPS / NODES )) ] \
      || die "-G: node of ranks $first..$(( first + PER - 1 )) would span two groups (-g)"
  done
  local rate
  for rate in "$RATE" "$UPLINK"; do
    [ "$rate" = none ] || bits "$rate" >/dev/null || die "'$rate' is not a tc rate (500mbit, 1gbit, none)"
  done
  [ -z "$(ours)" ] || die "fabric '$NAME' exists; run: $0 down -N $NAME"
  # Whatever stops `up` half-way (a failed command, die, Ctrl-C) removes what it made.
  trap 'echo "netns-fabric.sh: failed; removing what was made" >&2; down' EXIT
  ip netns add "$SW"; ip -n "$SW" link set lo up
  local g r ns core=br0
  for ((g = 0; g < NGROUPS; g++)); do
    ip -n "$SW" link add "br$g" mtu "$MTU" type bridge; ip -n "$SW" link set "br$g" up
  done
  if [ "$NGROUPS" -gt 1 ]; then
    core=spine
    ip -n "$SW" link add spine mtu "$MTU" type bridge; ip -n "$SW" link set spine up
    for ((g = 0; g < NGROUPS; g++)); do
      ip -n "$SW" link add "up$g" mtu "$MTU" type veth peer name "dn$g" mtu "$MTU"
      ip -n "$SW" link set "up$g" master "br$g"; ip -n "$SW" link set "dn$g" master spine
      shape "$SW" "up$g" "$UPLINK"; shape "$SW" "dn$g" "$UPLINK"
      ip -n "$SW" link set "up$g" up; ip -n "$SW" link set "dn$g" up
    done
  fi
  local k nic
  for ((r = 0; r < NODES; r++)); do
    ns=cbf-$NAME-n$(( r / PER )); g=$(( r * NGROUPS / NODES )); k=$(( r % PER )); nic=eth$k
    if [ "$k" -eq 0 ]; then
      ip netns add "$ns"; ip -n "$ns" link set lo up
      [ "$PER" -eq 1 ] || ip netns exec "$ns" sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    fi
    ip -n "$SW" link add "n$r" mtu "$MTU" type veth peer name "$nic" mtu "$MTU" netns "$ns"
    ip -n "$SW" link set "n$r" master "br$g"
    shape "$ns" "$nic" "$RATE"; shape "$SW" "n$r" "$RATE"
    ip -n "$SW" link set "n$r" up
    ip -n "$ns" addr add "$(addr "$r")/16" dev "$nic"; ip -n "$ns" link set "$nic" up
    if [ "$PER" -gt 1 ]; then
      ip -n "$ns" rule add from "$(addr "$r")" table $(( 100 + k )) pref $(( 100 + k ))
      ip -n "$ns" route add 10.77.0.0/16 dev "$nic" src "$(addr "$r")" table $(( 100 + k ))
    fi
  done
  trap - EXIT
  # Bridge ports forward at once without STP; give carrier a moment.
  for _ in $(seq 100); do
    [ "$(bridge -n "$SW" link show | grep -c forwarding)" -ge "$NODES" ] && break; sleep 0.05
  done
  echo "# fabric '$NAME': $NODES $([ "$PER" -gt 1 ] && echo "ranks on $(( NODES / PER )) nodes of $PER NICs" || echo nodes), link $RATE each way, $NGROUPS group(s)$([ "$NGROUPS" -gt 1 ] && echo ", uplinks $UPLINK each way via $core")"
  status
}

# Each NIC of a node namespace: "NIC ADDRESS" (rank r has 10.77.x.y, x*250+y = r+2).
nics() { ip -n "$1" -o -4 addr show | awk '$2 ~ /^eth/ {sub("/.*", "", $4); print $2, $4}'; }

status() {
  local ns nic a r
  for ns in $(ours); do
    case $ns in
      *-sw) echo "$ns  switch" ;;
      *) nics "$ns" | while read -r nic a; do
           IFS=. read -r _ _ x y <<<"$a"; r=$(( x * 250 + y - 2 ))
           echo "$ns  rank $r  $a$([ "$nic" = eth0 ] || echo "  $nic")"
         done ;;
    esac
  done | sort -V
}

# The namespace holding rank $1's address.
ns_of() {
  local ns
  for ns in $(ours); do
    [ "${ns%-sw}" = "$ns" ] && nics "$ns" | grep -qx "eth[0-9]* $(addr "$1")" && { echo "$ns"; return; }
  done
  die "no rank $1 in fabric '$NAME'"
}

case $cmd in
  up) up ;;
  down) down ;;
  status) status ;;
  exec)
    [[ $RANK =~ ^[0-9]+$ ]] || die "exec: RANK first, e.g. exec 0 -- iperf3 -s"
    [ $# -gt 0 ] || die "exec: no command"
    ns=$(ns_of "$RANK")
    exec ip netns exec "$ns" "$@" ;;
  *) usage ;;
esac
