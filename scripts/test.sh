#!/usr/bin/env bash
# Set up and run the whole test suite: SQLite always; PostgreSQL too when it answers on 127.0.0.1:5432;
# browser tests with Debian's chromium (installed here when missing and we are root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; browser tests will be skipped" >&2
fi
if [ -z "${MUSTER_TEST_POSTGRES_URL:-}" ] && .venv/bin/python - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex(("127.0.0.1", 5432)) == 0 else 1)
PY
then
  export MUSTER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test
fi
echo "PostgreSQL tests: ${MUSTER_TEST_POSTGRES_URL:-skipped (no server on 127.0.0.1:5432)}"
.venv/bin/lint-imports --no-cache
.venv/bin/flake8 engine web tests bench
exec .venv/bin/pytest -n 2 -p no:cacheprovider "$@"
