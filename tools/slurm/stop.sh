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
  q=$(cat "$DIR/run/$d.daemon.pid" 2>/dev/null) || q=
  for _ in $(seq 1 50); do
    kill -0 "$p" 2>/dev/null || { [ -n "$q" ] && kill -0 "$q" 2>/dev/null; } || break
    sleep 0.1
  done
  # timeout(1) or the daemon itself still there (slurmd can outlive its wrapper): both killed.
  if kill -0 "$p" 2>/dev/null || { [ -n "$q" ] && kill -0 "$q" 2>/dev/null; }; then
    [ -n "$q" ] && kill -KILL "$q" 2>/dev/null
    kill -KILL "$p" 2>/dev/null
    echo "stop.sh: $d killed" >&2
  fi
  rm -f "$DIR/run/$d.pid"
done
# What a step left (slurmstepd and its tasks, which outlive slurmd): found by this cluster's own
# SLURM_CONF in their environment (slurmd gives it to them), never by name; not this script's own.
for e in /proc/[0-9]*/environ; do
  p=${e#/proc/}
  p=${p%/environ}
  [ "$p" = "$$" ] || [ "$p" = "$PPID" ] || [ "$p" = "$BASHPID" ] && continue
  { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "SLURM_CONF=$DIR/slurm.conf" && kill -KILL "$p" 2>/dev/null
done
exit 0
