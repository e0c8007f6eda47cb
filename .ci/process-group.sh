#!/usr/bin/env bash
# Shared by the host-run SQS servers (localstack-host.sh, elasticmq-host.sh).

# stop_process_group PID: SIGTERM to the process group led by PID, SIGKILL after 15 s. Does nothing
# for an empty or dead PID.
stop_process_group() {
  local pid="$1" i
  [[ -n "$pid" ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
