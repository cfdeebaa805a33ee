# Sourced by demo.sh and test.sh: a virtual environment in .venv/ of the checkout, made with
# the first Python >= 3.11 on PATH, with the project installed into it. Debian's python3 is
# "externally managed" (PEP 668): pip refuses to install into it, so nothing is installed
# outside .venv/. Everything afterwards runs from the environment (PATH starts with .venv/bin).
#
#   pec_venv EXTRAS [EXTRA_PIP_ARGS...]     e.g. pec_venv test
#
# Safe to run twice: the install is skipped when pyproject.toml and the requested set are the
# same as last time (a stamp in .venv/). A failed install stops with pip's own message.

PEC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEC_VENV="$PEC_ROOT/.venv"

pec_base_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3 python; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "pec-intake needs Python >= 3.11 first on PATH (or PYTHON=/path/to/python3);" \
       "found: $(python3 --version 2>&1 || echo none)" >&2
  return 1
}

pec_venv_works() {
  [ -x "$PEC_VENV/bin/python" ] && "$PEC_VENV/bin/python" -m pip --version >/dev/null 2>&1
}

pec_make_venv() {
  local base
  base="$(pec_base_python)"
  if ! "$base" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    # Debian splits venv/ensurepip out of python3 into python3-venv (python3.X-venv).
    local minor
    minor="$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    bash "$PEC_ROOT/scripts/install-system-deps.sh" python3-venv "python$minor-venv"
  fi
  echo "creating the virtual environment $PEC_VENV with $base ($("$base" --version 2>&1))"
  rm -rf "$PEC_VENV"
  "$base" -m venv --without-pip "$PEC_VENV"
  # ensurepip apart, so a failure shows pip's own message; tried twice (a busy disk)
  "$PEC_VENV/bin/python" -m ensurepip --upgrade --default-pip >/dev/null \
    || "$PEC_VENV/bin/python" -m ensurepip --upgrade --default-pip
  "$PEC_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
}

pec_venv() {
  local extras="$1"
  shift
  pec_venv_works || pec_make_venv
  local stamp="$PEC_VENV/.pec-installed-$extras"
  local want
  want="$( { cat "$PEC_ROOT/pyproject.toml"; echo "extras=$extras $*";
             "$PEC_VENV/bin/python" --version; } | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing pec-intake[$extras] into .venv/"
    rm -f "$stamp"
    "$PEC_VENV/bin/python" -m pip install -q --disable-pip-version-check \
      -e "$PEC_ROOT[$extras]"
    # rapidocr-onnxruntime declares the GUI opencv-python, which fights
    # opencv-python-headless over cv2: its real needs are in pyproject.toml, itself --no-deps.
    "$PEC_VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
      "rapidocr-onnxruntime>=1.3,<2" "$@"
    echo "$want" > "$stamp"
  fi
  export VIRTUAL_ENV="$PEC_VENV"
  export PATH="$PEC_VENV/bin:$PATH"
  hash -r
}
