#!/usr/bin/env bash
# LocalStack 4.14.0 on the host, without Docker: a pip venv with SQS and S3 (the payload store's),
# listening on loopback.
#
# Sourced by .ci/run (functions ls_*), or run by hand:
#   bash .ci/localstack-host.sh serve [PORT]   # install if needed, run in the foreground (default port 4566)
#   bash .ci/localstack-host.sh install        # only build/check the cached venv, print its path
#
# Needs Python >= 3.13 (LocalStack 4.14's code does, whatever its metadata says); the venv is cached
# under ${SQSPIPES_CI_CACHE:-~/.cache/sqspipes-ci}, keyed by Python version and the pinned requirements.
# The server talks to nothing but loopback: no analytics, no certificate download, no DNS server.

# shellcheck source=.ci/process-group.sh
source "$(dirname "${BASH_SOURCE[0]}")/process-group.sh"

LS_VERSION=4.14.0
LS_CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LS_REQUIREMENTS="$LS_CI_DIR/localstack-requirements.txt"
# The services it runs (S3 for the payload store's tests), and the imports that prove the venv has them.
LS_SERVICES="sqs,s3"
LS_IMPORT_CHECK='import localstack.aws.components, localstack.services.sqs.provider, localstack.services.s3.provider'

# Prints the path of a Python >= 3.13 interpreter, or fails.
ls_find_python() {
  local candidates=() c
  for c in python3.14 python3.13 python3; do
    command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
  done
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  for c in "$pyenv_root"/versions/3.1[3-9]*/bin/python3 /usr/bin/python3.1[3-9] /usr/local/bin/python3.1[3-9]; do
    [[ -x "$c" ]] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    # pyenv shims exist for versions that are not selected and then fail: just try each one.
    if "$c" -c 'import sys, venv, ssl; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# Builds (or reuses) the venv; prints its path. Returns 1 when no suitable Python, 2 when pip failed.
ls_install() {
  local python key venv cache_root log
  python="$(ls_find_python)" || {
    echo "no Python >= 3.13 found (looked for python3.14/python3.13 on PATH, pyenv versions, /usr/bin)" >&2
    return 1
  }
  key="$("$python" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')-$(sha256sum "$LS_REQUIREMENTS" | cut -c1-12)"
  cache_root="${SQSPIPES_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sqspipes-ci}"
  venv="$cache_root/localstack-$LS_VERSION-$key"
  if [[ -f "$venv/.sqspipes-ok" ]] &&
    "$venv/bin/python" -c "$LS_IMPORT_CHECK" >/dev/null 2>&1; then
    echo "reusing cached venv $venv ($("$python" --version 2>&1))" >&2
    echo "$venv"
    return 0
  fi
  echo "building venv $venv with $python ($("$python" --version 2>&1))" >&2
  rm -rf "$venv"
  mkdir -p "$cache_root"
  log="$(mktemp)"
  if "$python" -m venv "$venv" >"$log" 2>&1 &&
    PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 420 \
      "$venv/bin/python" -m pip install --quiet --timeout 30 --retries 2 -r "$LS_REQUIREMENTS" >>"$log" 2>&1 &&
    "$venv/bin/python" -c "$LS_IMPORT_CHECK" >>"$log" 2>&1; then
    touch "$venv/.sqspipes-ok"
    rm -f "$log"
    echo "$venv"
    return 0
  fi
  echo "venv build failed; last lines of its log:" >&2
  tail -n 15 "$log" | sed 's/^/    /' >&2
  rm -f "$log"
  rm -rf "$venv"
  return 2
}

# The environment LocalStack runs with (nothing else is inherited): ls_env PORT FILESYSTEM_ROOT
ls_env() {
  local port="$1" fsroot="$2"
  printf '%s\n' \
    "PATH=/usr/local/bin:/usr/bin:/bin" \
    "HOME=${HOME:-/tmp}" \
    "LANG=C.UTF-8" \
    "SERVICES=$LS_SERVICES" \
    "EAGER_SERVICE_LOADING=1" \
    "GATEWAY_LISTEN=127.0.0.1:$port" \
    "LOCALSTACK_HOST=127.0.0.1:$port" \
    "SQS_ENDPOINT_STRATEGY=path" \
    "PERSISTENCE=0" \
    "OVERRIDE_IN_DOCKER=0" \
    "FILESYSTEM_ROOT=$fsroot" \
    "SKIP_SSL_CERT_DOWNLOAD=1" \
    "DISABLE_EVENTS=1" \
    "DNS_ADDRESS=0"
}

# Runs LocalStack's runtime, asking Linux to SIGTERM it when the calling shell dies (even by SIGKILL,
# when no EXIT trap runs), so that it can never outlive CI.
LS_LAUNCHER='
import ctypes, os, runpy, signal, sys
parent = int(sys.argv[1])
ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
if os.getppid() != parent:
    sys.exit("the shell that started LocalStack is gone")
sys.argv = ["localstack.runtime.main"]
runpy.run_module("localstack.runtime.main", run_name="__main__", alter_sys=True)
'

# Starts LocalStack in the background in its own session: ls_start VENV PORT LOGFILE FILESYSTEM_ROOT
# Sets LS_PID (also its process group id). Call it from the shell that will stop it, not a subshell.
ls_start() {
  local venv="$1" port="$2" logfile="$3" fsroot="$4"
  local -a envs
  rm -rf "$fsroot"
  mkdir -p "$fsroot"
  mapfile -t envs < <(ls_env "$port" "$fsroot")
  env -i "${envs[@]}" setsid "$venv/bin/python" -c "$LS_LAUNCHER" "$$" </dev/null >"$logfile" 2>&1 &
  LS_PID=$!
}

# Waits until every service reports "running" on the health endpoint: ls_wait_healthy VENV PORT PID TIMEOUT_SECONDS
ls_wait_healthy() {
  local venv="$1" port="$2" pid="$3" timeout_s="$4" deadline health=""
  deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "LocalStack exited before it was healthy" >&2
      return 1
    fi
    # Prints "ok" when every service of LS_SERVICES runs, else each one's state.
    health="$("$venv/bin/python" - "$port" "$LS_SERVICES" <<'PY' 2>/dev/null || true
import json, sys, urllib.request
url = "http://127.0.0.1:%s/_localstack/health" % sys.argv[1]
with urllib.request.urlopen(url, timeout=2) as r:
    services = json.load(r).get("services", {})
states = {name: services.get(name, "absent") for name in sys.argv[2].split(",")}
print("ok" if all(s == "running" for s in states.values()) else ", ".join("%s: %s" % i for i in states.items()))
PY
)"
    [[ "$health" == "ok" ]] && return 0
    sleep 0.25
  done
  echo "LocalStack not healthy after ${timeout_s}s (${health:-no answer})" >&2
  return 1
}

# Stops the server started by ls_start (SIGTERM to its group, SIGKILL after 15 s). Idempotent.
ls_stop() {
  local pid="${LS_PID:-}"
  LS_PID=""
  stop_process_group "$pid"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-serve}" in
    install)
      ls_install
      ;;
    serve)
      port="${2:-4566}"
      venv="$(ls_install)"
      fsroot="${TMPDIR:-/tmp}/sqspipes-localstack-$port"
      rm -rf "$fsroot"
      mkdir -p "$fsroot"
      mapfile -t envs < <(ls_env "$port" "$fsroot")
      echo "LocalStack $LS_VERSION (host) on http://127.0.0.1:$port — Ctrl-C stops it" >&2
      exec env -i "${envs[@]}" "$venv/bin/python" -m localstack.runtime.main
      ;;
    *)
      echo "usage: bash .ci/localstack-host.sh [serve [PORT] | install]" >&2
      exit 64
      ;;
  esac
fi
