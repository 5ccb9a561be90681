#!/usr/bin/env bash
# Sets up a machine for safexp: the headless OpenGL libraries (Debian packages, when missing and apt is
# usable), the project's virtual environment, PyTorch 2.13.0 first (the largest download), then the core and
# every first-party plugin in editable mode with the test and Ray extras. Says what each step is doing and how
# long it took. Safe to run again: each step skips what is done (pip leaves installed packages as they are).
set -euo pipefail
VENV=${1:-.venv}
TORCH=torch==2.13.0
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }
took() { say "  done in $((SECONDS - $1))s"; }

if ! ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1' || ! ldconfig -p 2>/dev/null | grep -q 'libOSMesa.so'; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing EGL and OSMesa for headless rendering (apt-get; under a minute)..."
    start=$SECONDS
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libosmesa6 >/dev/null
    took "$start"
  else
    say "warning: EGL/OSMesa not found and apt-get unavailable; rendering needs libegl1 or libosmesa6" >&2
  fi
else
  say "EGL and OSMesa found (headless rendering)"
fi

if [ -x "$VENV/bin/python" ]; then
  say "using the virtual environment $VENV ($("$VENV/bin/python" --version))"
else
  say "creating the virtual environment $VENV ($(python3 --version))..."
  python3 -m venv "$VENV"
fi

PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)
# pip's warnings about configured index folders that do not exist on this machine are noise: drop them.
exec 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

if installed=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
  say "torch $installed already installed"
else
  say "installing $TORCH (the largest download: ~200 MB for the CPU build, more with CUDA; a few minutes)..."
  start=$SECONDS
  # on a terminal pip shows its download progress; in a log, one line per package is enough
  if [ -t 1 ]; then "${PIP[@]}" --progress-bar on "$TORCH"; else "${PIP[@]}" -q "$TORCH"; fi
  took "$start"
fi

say "installing safexp, its plugins (robots, tasks, hazards, sb3, experiments with Ray) and pytest, editable; a few minutes the first time..."
start=$SECONDS
"${PIP[@]}" -q -e ".[test]" -e "plugins/safexp-experiments[ray]" \
  -e plugins/safexp-robots -e plugins/safexp-tasks -e plugins/safexp-hazards -e plugins/safexp-sb3
took "$start"

say "installed plugins (safexp plugins):"
"$VENV/bin/safexp" plugins | sed 's/^/  /'
say "ready ($VENV). Next: make run (a short demo run, a few minutes), make test, or $VENV/bin/safexp --help"
