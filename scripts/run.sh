#!/usr/bin/env bash
# Set up and run Muster on the embedded default (SQLite, demo forces, users and processes seeded).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/muster db upgrade
.venv/bin/muster seed-demo
exec .venv/bin/muster run "$@"
