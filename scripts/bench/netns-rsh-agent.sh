#!/bin/sh
# netns-rsh-agent.sh HOST CMD... - Open MPI's plm_rsh_agent for a fabric built by
# scripts/netns-fabric.sh: runs CMD with /bin/sh in the namespace of the node whose address is
# HOST (10.77.X.Y, rank = 250*X + Y - 2, as netns-fabric.sh numbers them). CBF_NAME names the
# fabric (default fab).
host=$1
shift
name=${CBF_NAME:-fab}
case "$host" in
  10.77.*.*) rest=${host#10.77.}; x=${rest%.*}; y=${rest#*.}; rank=$(( 250 * x + y - 2 )) ;;
  *) echo "netns-rsh-agent: $host is not an address of a netns-fabric.sh fabric" >&2; exit 255 ;;
esac
exec ip netns exec "cbf-$name-n$rank" /bin/sh -c "$*"
