#!/usr/bin/env bash
# Set up a development machine: Python venv with Muster installed (editable, with test extras) and the
# front-end packages from npm. Safe to run again; it only does what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The stamp holds a hash of the packaging files: any change to the dependencies (even one whose file
# time is older than the stamp, e.g. after a checkout or a copy) installs again.
stamp=.venv/.muster-installed
packaging=(setup.cfg)
if [ -f pyproject.toml ]; then packaging+=(pyproject.toml); fi
wanted=$(sha256sum "${packaging[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  echo "$wanted" > "$stamp"
fi
if [ -f package.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  if [ -f web/assets.py ]; then .venv/bin/python -m web.assets; fi
fi
