#!/usr/bin/env bash
# The whole suite on SQLite, then the database-backed tests again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "== tests on SQLite =="
env -u IA_TEST_DATABASE_URL $BIN/python -m pytest -q -p no:cacheprovider "$@"

# a database of this run's own (the tests create it, and drop it when they end), so that two runs
# on one machine never share one
PG_URL="${IA_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/ia_test_$$}"
echo "== tests on PostgreSQL ($PG_URL) =="
IA_TEST_DATABASE_URL="$PG_URL" $BIN/python -m pytest -q -p no:cacheprovider -m "not e2e" \
  tests/integration tests/web tests/services "$@"
