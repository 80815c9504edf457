#!/bin/sh
# Set up lstmkit in a virtual environment: sh install.sh [--test]
#
# - Creates .venv (or $LSTMKIT_VENV) if it is missing.
# - Keeps a torch you already have: if `python3 -c "import torch"` works, the venv sees it
#   (--system-site-packages) and pip leaves it alone, CUDA build or not.
# - Otherwise installs torch: on a machine without an NVIDIA GPU the CPU build pinned by
#   $LSTMKIT_TORCH (default torch==2.13.0, the CPU wheel this machine kind keeps locally;
#   elsewhere add LSTMKIT_TORCH_INDEX=https://download.pytorch.org/whl/cpu), so no GBs of CUDA.
# - Installs lstmkit in editable mode, with the test extras when --test is given (and, for the
#   web page's browser test, Debian's chromium when it is missing and apt-get can run).
set -eu
cd "$(dirname "$0")"
VENV=${LSTMKIT_VENV:-.venv}
PYTHON=${PYTHON:-python3}
EXTRAS=""
[ "${1:-}" = "--test" ] && EXTRAS="[test]"

if [ ! -x "$VENV/bin/python" ]; then
    if "$PYTHON" -c "import torch" >/dev/null 2>&1; then
        echo "install.sh: keeping the torch of $PYTHON ($("$PYTHON" -c 'import torch; print(torch.__version__)'))"
        "$PYTHON" -m venv --system-site-packages "$VENV"
    else
        "$PYTHON" -m venv "$VENV"
    fi
fi
PIP="$VENV/bin/python -m pip"
if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    if command -v nvidia-smi >/dev/null 2>&1; then
        $PIP install -q torch
    elif [ -n "${LSTMKIT_TORCH_INDEX:-}" ]; then
        $PIP install -q "${LSTMKIT_TORCH:-torch==2.13.0}" --index-url "$LSTMKIT_TORCH_INDEX"
    else
        $PIP install -q "${LSTMKIT_TORCH:-torch==2.13.0}"
    fi
fi
$PIP install -q -e ".$EXTRAS"
# The web page's test drives a real headless browser: Debian's chromium, installed for --test
# when it is missing and apt-get can run (as root or through sudo without a password).
if [ -n "$EXTRAS" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) \
            || echo "install.sh: could not install chromium; the browser test will be skipped"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n apt-get install -y -q chromium >/dev/null 2>&1 || echo "install.sh: could not install chromium"
    else
        echo "install.sh: no chromium and no apt-get as root; the browser test will be skipped"
    fi
fi
echo "install.sh: lstmkit is installed in $VENV (torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'))"
