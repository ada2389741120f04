#!/bin/bash
# A one-host Slurm "cluster" (slurmctld, slurmd and munge from Debian) for collbench's tests
# and CI, without systemd or cgroups (proctrack/linuxproc, task/none). Needs root.
#
#   scripts/slurm/single-host.sh start   # install what is missing, start, wait until the node is idle
#   scripts/slurm/single-host.sh stop    # stop what start started (by PID) and remove its state
#
# Environment:
#   COLLBENCH_SLURM_STATE  state and log directory  (default /tmp/collbench-slurm)
#   COLLBENCH_SLURM_CPUS   CPUs the node advertises (default 8; more than the machine has is
#                          allowed, so `srun -n 8` runs on 2 cores). A job asking for more
#                          tasks than this pends instead of failing: use srun -O (--overcommit).
#
# /etc/slurm/slurm.conf is replaced while it runs and restored by stop.
set -euo pipefail

STATE=${COLLBENCH_SLURM_STATE:-/tmp/collbench-slurm}
CPUS=${COLLBENCH_SLURM_CPUS:-8}
CONF=/etc/slurm/slurm.conf
NODE=$(hostname -s)
say() { echo "[slurm $(date +%T)] $*" >&2; }

install_missing() {
    local need=()
    command -v slurmctld >/dev/null || need+=(slurmctld)
    command -v slurmd >/dev/null || need+=(slurmd)
    command -v srun >/dev/null || need+=(slurm-client)
    command -v munged >/dev/null || need+=(munge)
    [ ${#need[@]} -eq 0 ] && return
    say "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile=/etc/munge/munge.key --force
        else
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        fi
    fi
    chown munge:munge /etc/munge /etc/munge/munge.key
    chmod 0700 /etc/munge
    chmod 0400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    chmod 0755 /run/munge
    if munge_works; then
        say "munged is already running; leaving it alone"
        return
    fi
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do munge_works && break; sleep 0.1; done
    munge_works || { say "munged did not start"; exit 1; }
    cp /run/munge/munged.pid "$STATE/munged.pid"    # marks it as ours to stop
}

write_conf() {
    mkdir -p /etc/slurm
    if [ -e "$CONF" ] && [ ! -e "$STATE/slurm.conf.orig" ]; then cp -p "$CONF" "$STATE/slurm.conf.orig"; fi
    cat >"$CONF" <<CONF
# written by collbench scripts/slurm/single-host.sh; restored by its stop
ClusterName=collbench
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
StateSaveLocation=${STATE}/ctld
SlurmdSpoolDir=${STATE}/d
SlurmctldPidFile=${STATE}/slurmctld.pid
SlurmdPidFile=${STATE}/slurmd.pid
SlurmctldLogFile=${STATE}/log/slurmctld.log
SlurmdLogFile=${STATE}/log/slurmd.log
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} Boards=1 SocketsPerBoard=1 CoresPerSocket=${CPUS} ThreadsPerCore=1 RealMemory=4096 State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
CONF
}

start() {
    if [ -e "$STATE/slurmctld.pid" ]; then
        say "$STATE holds a running cluster's state; run '$0 stop' first"
        exit 1
    fi
    install_missing
    mkdir -p "$STATE"/{ctld,d,log}
    if ! getent hosts "$NODE" >/dev/null; then
        say "adding $NODE to /etc/hosts"
        echo "127.0.0.1 $NODE # collbench-slurm" >>/etc/hosts
        touch "$STATE/hosts-added"
    fi
    start_munge
    write_conf
    slurmctld    # both daemonize and write their PID files
    slurmd
    local st=""
    for _ in $(seq 120); do
        st=$(sinfo -h -n "$NODE" -o %t 2>/dev/null || true)
        case "$st" in
            idle*) break ;;
            drain* | down*) scontrol update nodename="$NODE" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.25
    done
    if [[ "$st" != idle* ]]; then
        say "node $NODE is '$st', not idle"
        tail -n 20 "$STATE"/log/*.log >&2 || true
        exit 1
    fi
    say "up: slurmctld pid $(cat "$STATE/slurmctld.pid"), slurmd pid $(cat "$STATE/slurmd.pid"), $CPUS CPUs"
}

stop_pid() { # PID file: SIGTERM, up to 10 s, then SIGKILL
    local f=$1 p
    [ -s "$f" ] || return 0
    p=$(cat "$f")
    kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
}

stop() {
    [ -d "$STATE" ] || return 0
    if [ -s "$STATE/slurmctld.pid" ]; then
        squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
        for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    stop_pid "$STATE/slurmd.pid"
    stop_pid "$STATE/slurmctld.pid"
    stop_pid "$STATE/munged.pid"
    if [ -e "$STATE/slurm.conf.orig" ]; then cp -p "$STATE/slurm.conf.orig" "$CONF"; else rm -f "$CONF"; fi
    if [ -e "$STATE/hosts-added" ]; then sed -i '/ # collbench-slurm$/d' /etc/hosts; fi
    rm -rf "$STATE"
    say "stopped; state removed"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
