#!/usr/bin/env bash
# Stops the one-node Slurm cluster started by tools/slurm-up.sh (slurmd, slurmctld, then munged).
# Leaves the packages, the config and the state dir; `bash tools/slurm-up.sh` brings it back.
set -uo pipefail
RUN=/run/ssl-slurm
log() { printf 'slurm-down: %s\n' "$*"; }

stop_pidfile() { # name pidfile
  local pid
  # Only a pid that still runs that daemon: pids are reused after a crash or kill.
  if [ -s "$2" ] && pid="$(cat "$2")" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { log "$1 still running, sending KILL"; kill -KILL "$pid"; }
  else
    log "$1 not running"
  fi
  rm -f "$2"
}

stop_pidfile slurmd "$RUN/slurmd.pid"
stop_pidfile slurmctld "$RUN/slurmctld.pid"
if [ "${1:-}" = "--all" ]; then
  stop_pidfile munged /run/munge/munged.pid
fi
exit 0
