#!/usr/bin/env bash
# Stops the cluster tools/slurm/start.sh started under DIR: cancels what is left of its jobs, then
# stops each daemon by the pid start.sh recorded (SIGTERM, SIGKILL after 5 s). Never by name.
# Usage: tools/slurm/stop.sh DIR
set -uo pipefail
DIR=${1:?usage: stop.sh DIR}
[ -f "$DIR/slurm.conf" ] && SLURM_CONF="$DIR/slurm.conf" timeout 5 scancel --state=PENDING,RUNNING,SUSPENDED \
  -u "$(id -un)" 2>/dev/null
for d in slurmd slurmctld munged; do
  p=$(cat "$DIR/run/$d.pid" 2>/dev/null) && kill -TERM "$p" 2>/dev/null # timeout(1) passes it on
done
for d in slurmd slurmctld munged; do
  p=$(cat "$DIR/run/$d.pid" 2>/dev/null) || continue
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then # timeout(1) itself stuck: the daemon by its own pid file
    q=$(cat "$DIR/run/$d.daemon.pid" 2>/dev/null) && kill -KILL "$q" 2>/dev/null
    kill -KILL "$p" 2>/dev/null
    echo "stop.sh: $d killed" >&2
  fi
  rm -f "$DIR/run/$d.pid"
done
exit 0
