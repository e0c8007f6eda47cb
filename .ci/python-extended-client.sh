#!/usr/bin/env bash
# AWS's Extended Client for Python (amazon-sqs-extended-client 1.0.1, with boto3) in a cached venv,
# for the interop tests of large payloads through S3 (test/support/python-extended-client.ts).
#
# Run by .ci/run or by the tests' helper, or sourced (functions pyext_*):
#   bash .ci/python-extended-client.sh   # build the venv if needed, print its python's path
#
# Needs Python >= 3.10 (boto3 1.44 does). The venv is cached under
# ${SQSPIPES_CI_CACHE:-~/.cache/sqspipes-ci}, keyed by Python version and the pinned requirements
# (.ci/python-extended-client-requirements.txt); a lock lets concurrent test files share one build.
# Exit status: 0 (path printed), 1 no suitable Python, 2 pip failed (the end of its log on stderr).

PYEXT_VERSION=1.0.1
PYEXT_CI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYEXT_REQUIREMENTS="$PYEXT_CI_DIR/python-extended-client-requirements.txt"
PYEXT_CHECK='import boto3, botocore.config, sqs_extended_client'

# Prints the path of a Python >= 3.10 interpreter, or fails.
pyext_find_python() {
  local candidates=() c
  for c in python3.14 python3.13 python3.12 python3.11 python3.10 python3; do
    command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
  done
  local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
  for c in "$pyenv_root"/versions/3.1[0-9]*/bin/python3 /usr/bin/python3.1[0-9] /usr/local/bin/python3.1[0-9]; do
    [[ -x "$c" ]] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    # pyenv shims exist for versions that are not selected and then fail: just try each one.
    if "$c" -c 'import sys, venv, ssl; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

# Builds (or reuses) the venv in $2 with the Python $1; prints its python. Call with the lock held.
pyext_build() {
  local python="$1" venv="$2" log
  if [[ -f "$venv/.sqspipes-ok" ]] && "$venv/bin/python" -c "$PYEXT_CHECK" >/dev/null 2>&1; then
    echo "reusing cached venv $venv ($("$python" --version 2>&1))" >&2
    echo "$venv/bin/python"
    return 0
  fi
  echo "building venv $venv with $python ($("$python" --version 2>&1))" >&2
  rm -rf "$venv"
  log="$(mktemp)"
  if "$python" -m venv "$venv" >"$log" 2>&1 &&
    PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 300 \
      "$venv/bin/python" -m pip install --quiet --timeout 30 --retries 2 -r "$PYEXT_REQUIREMENTS" >>"$log" 2>&1 &&
    "$venv/bin/python" -c "$PYEXT_CHECK" >>"$log" 2>&1; then
    touch "$venv/.sqspipes-ok"
    rm -f "$log"
    echo "$venv/bin/python"
    return 0
  fi
  echo "venv build failed; last lines of its log:" >&2
  tail -n 15 "$log" | sed 's/^/    /' >&2
  rm -f "$log"
  rm -rf "$venv"
  return 2
}

# Builds (or reuses) the venv; prints its python's path. Returns 1 when no suitable Python, 2 when pip failed.
pyext_install() {
  local python key venv cache_root
  python="$(pyext_find_python)" || {
    echo "no Python >= 3.10 found (looked for python3.1x/python3 on PATH, pyenv versions, /usr/bin)" >&2
    return 1
  }
  key="$("$python" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')-$(sha256sum "$PYEXT_REQUIREMENTS" | cut -c1-12)"
  cache_root="${SQSPIPES_CI_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sqspipes-ci}"
  venv="$cache_root/python-extended-client-$PYEXT_VERSION-$key"
  mkdir -p "$cache_root"
  if command -v flock >/dev/null 2>&1; then
    {
      flock -w 600 9 || echo "waited 600 s for $venv.lock; building anyway" >&2
      pyext_build "$python" "$venv"
    } 9>"$venv.lock"
  else
    pyext_build "$python" "$venv"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  pyext_install
fi
