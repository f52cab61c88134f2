#!/usr/bin/env bash
# The test suite, from a fresh virtual environment: bash scripts/test.sh [pytest args]
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$REPO"
if [ "${CI:-}" = "true" ]; then export HRU2NET_REQUIRE_DATA=1; fi
python -m pytest tests "$@"
