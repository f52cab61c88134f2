#!/usr/bin/env bash
# The test suite, from a fresh virtual environment: bash scripts/test.sh [pytest args]
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$REPO"
if [ "${CI:-}" = "true" ]; then export HRU2NET_REQUIRE_DATA=1; fi
# Two worker processes (pytest-xdist): Paddle's CPU kernels use one core each, so two cores run
# the suite in about half the time. HRU2NET_TEST_WORKERS=0 runs it in this process.
python -m pytest tests -n "${HRU2NET_TEST_WORKERS:-2}" "$@"
