#!/usr/bin/env bash
# Starts a single-node Slurm cluster from nothing, for jx's tests and benches: its own munge key
# and socket, slurm.conf, state and logs all under DIR; the controller and the node on 127.0.0.1;
# no cgroups, no accounting database; scheduler settings that start work at once.
# Installs nothing (.ci/run installs slurm-wlm and munge).
#
# Usage: tools/slurm/start.sh [DIR]      (default: a new temporary directory)
# Prints on stdout, when the node is up:   export SLURM_CONF=DIR/slurm.conf
# Stop:  tools/slurm/stop.sh DIR         (by the pids this script wrote under DIR/run)
# Env:   JX_SLURM_CPUS (default: nproc), JX_SLURM_LIFETIME seconds (default 3600: every daemon
#        runs under timeout(1), so a cluster nobody stops goes away by itself).
set -euo pipefail
for tool in munged slurmctld slurmd sinfo; do
  command -v "$tool" >/dev/null || { echo "start.sh: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 2; }
done
DIR=${1:-$(mktemp -d "${TMPDIR:-/tmp}/jx-slurm.XXXXXX")}
DIR=$(cd "$DIR" 2>/dev/null && pwd || { mkdir -p "$DIR" && cd "$DIR" && pwd; })
CPUS=${JX_SLURM_CPUS:-$(nproc)}
LIFETIME=${JX_SLURM_LIFETIME:-3600}
mkdir -p "$DIR"/{munge,state,spool,log,run}
chmod 711 "$DIR/munge"
t0=$(date +%s%N)

# A free TCP port on 127.0.0.1 (several clusters may run side by side, one per worker).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "start.sh: no free port found" >&2
  exit 1
}

# Runs a daemon in the foreground under timeout(1), detached from our stdio; records its pid.
daemon() {
  local name=$1
  shift
  timeout "$LIFETIME" "$@" >"$DIR/log/$name.stdout" 2>&1 </dev/null &
  echo $! >"$DIR/run/$name.pid"
}

if [ ! -f "$DIR/munge/munge.key" ]; then
  head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
  chmod 400 "$DIR/munge/munge.key"
fi
daemon munged munged --foreground --force --key-file="$DIR/munge/munge.key" \
  --socket="$DIR/munge/munge.socket" --pid-file="$DIR/run/munged.daemon.pid" \
  --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munge.seed"
for _ in $(seq 1 100); do [ -S "$DIR/munge/munge.socket" ] && break; sleep 0.05; done
[ -S "$DIR/munge/munge.socket" ] || { echo "start.sh: munged did not start; see $DIR/log" >&2; exit 1; }

MEM=$(($(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 - 512))
cat >"$DIR/slurm.conf" <<CONF
ClusterName=jx
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.daemon.pid
SlurmdPidFile=$DIR/run/slurmd.daemon.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# Processes tracked through /proc; no cgroups, no task binding, no accounting.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MailProg=/bin/true
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Schedule on every submit and completion, not on a timer: small jobs start at once.
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0,sched_interval=2,bf_interval=1
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=300
InactiveLimit=0
KillWait=2
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$DIR/slurm.conf"
daemon slurmctld slurmctld -D -i -f "$SLURM_CONF"
daemon slurmd slurmd -D -N localhost -f "$SLURM_CONF"
for _ in $(seq 1 300); do
  sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)' && {
    echo "start.sh: slurm up in $((($(date +%s%N) - t0) / 1000000)) ms under $DIR" >&2
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  }
  sleep 0.05
done
echo "start.sh: slurm did not come up in 15 s; see $DIR/log" >&2
tail -n 5 "$DIR"/log/*.log >&2 || true
"$(dirname "$0")/stop.sh" "$DIR" || true
exit 1
