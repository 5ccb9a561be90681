#!/usr/bin/env bash
# Sets up a machine for safexp: the headless OpenGL libraries (Debian packages, when missing and apt is
# usable), the project's virtual environment, CPU PyTorch 2.13.0 first, then the core and every first-party
# plugin in editable mode with the test and Ray extras. Safe to run again: each step skips what is done.
set -euo pipefail
VENV=${1:-.venv}
cd "$(dirname "$0")/.."

if ! ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1' || ! ldconfig -p 2>/dev/null | grep -q 'libOSMesa.so'; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing EGL and OSMesa for headless rendering"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libosmesa6 >/dev/null
  else
    echo "setup: warning: EGL/OSMesa not found and apt-get unavailable; rendering needs libegl1 or libosmesa6" >&2
  fi
fi

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
# pip's warnings about configured index folders that do not exist on this machine are noise: drop them.
exec 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
"$VENV/bin/python" -c 'import torch' 2>/dev/null || "${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e ".[test]" -e "plugins/safexp-experiments[ray]" \
  -e plugins/safexp-robots -e plugins/safexp-tasks -e plugins/safexp-hazards -e plugins/safexp-sb3
echo "setup: ready ($VENV)"
