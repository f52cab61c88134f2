# Sourced by the scripts: create (or reuse) a virtual environment and install the project into it.
# VENV overrides the location; PYTHON the interpreter used to create it.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
PYTHON="${PYTHON:-python3}"
bash "$REPO/scripts/install_system_packages.sh"
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -c "$REPO/requirements/constraints.txt" -e "$REPO[cpu,onnx,test]"
"$VENV/bin/python" -m pip check
export PATH="$VENV/bin:$PATH"
